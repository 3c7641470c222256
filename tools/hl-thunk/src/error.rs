// SPDX-License-Identifier: GPL-2.0

//! The library's error: an errno and what failed.

use std::borrow::Cow;
use std::{fmt, io};

/// A failed call: the errno the kernel (or the library's own validation,
/// with `EINVAL`) returned, and what was being done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    context: Cow<'static, str>,
}

/// The library's result.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with `errno` while doing `context`.
    pub fn new(errno: i32, context: impl Into<Cow<'static, str>>) -> Self {
        Self {
            errno,
            context: context.into(),
        }
    }

    /// The calling thread's `errno`, after a failed system call.
    pub(crate) fn last_os(context: impl Into<Cow<'static, str>>) -> Self {
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        Self::new(errno, context)
    }

    /// An argument the library rejects before calling the driver.
    pub(crate) fn invalid(context: impl Into<Cow<'static, str>>) -> Self {
        Self::new(libc::EINVAL, context)
    }

    /// The errno, positive (e.g. `libc::EBUSY`).
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// What failed.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.context,
            io::Error::from_raw_os_error(self.errno)
        )
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        io::Error::new(io::Error::from_raw_os_error(e.errno).kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_context_and_errno() {
        let e = Error::new(libc::EBUSY, "open /dev/hl0");
        assert_eq!(e.errno(), libc::EBUSY);
        assert!(e.to_string().starts_with("open /dev/hl0: "));
        assert!(e.to_string().contains("os error 16"));
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::ResourceBusy);
    }

    #[test]
    fn invalid_is_einval() {
        assert_eq!(Error::invalid("x").errno(), libc::EINVAL);
    }
}
