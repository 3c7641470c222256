// SPDX-License-Identifier: GPL-2.0

//! KUnit test suites written in Rust.
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h)
//!
//! 6.12's [`kernel::kunit`](crate::kunit) has the assertions its generated doctests use but no
//! way to declare a suite of one's own; upstream added `kunit_unsafe_test_suite!` and the
//! `#[kunit_tests]` attribute in 6.15. [`kunit_suite!`](crate::kunit_suite) is the same shape
//! for 6.12: a static `struct kunit_suite` and its array of `struct kunit_case`, and a pointer
//! to the suite in the `.kunit_test_suites` section, as C's `kunit_test_suite()` leaves it. The
//! module loader finds the section, and KUnit runs the suite when the module loads (at boot
//! for built-in code) if KUnit is enabled (`CONFIG_KUNIT_DEFAULT_ENABLED` or `kunit.enable=1`
//! on the command line); with `CONFIG_KUNIT_DEBUGFS` the results stay readable in
//! `/sys/kernel/debug/kunit/<suite>/results` while the module is loaded.
//!
//! A case is a plain `fn()`: it fails through [`kunit_check!`](crate::kunit_check), which
//! reports the failure to KUnit and ends the case, like C's `KUNIT_ASSERT_TRUE`.
//!
//! # Examples
//!
//! ```ignore
//! fn adds() {
//!     kernel::kunit_check!(1 + 1 == 2);
//! }
//!
//! kernel::kunit_suite!("example", [("adds", adds)]);
//! ```

use crate::{bindings, str::CStr};

/// The body of a test case, for [`run_case`].
pub trait Case {
    /// Runs the case.
    const RUN: fn();
}

/// The C entry of a test case: runs `C::RUN`.
///
/// # Safety
///
/// Only KUnit calls it, from the thread that runs the case.
pub unsafe extern "C" fn run_case<C: Case>(_test: *mut bindings::kunit) {
    (C::RUN)()
}

/// A test case named `name` that runs `run`, of module `module`.
pub const fn case(
    name: &'static CStr,
    module: &'static CStr,
    run: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    // SAFETY: `kunit_case` is plain data: all zeroes is a case with no callbacks, no
    // attributes, no log and the status KUnit starts from (`KUNIT_SUCCESS`).
    let mut case: bindings::kunit_case = unsafe { core::mem::zeroed() };
    case.run_case = Some(run);
    case.name = name.as_char_ptr();
    // KUnit only reads it (for the `module` attribute).
    case.module_name = module.as_char_ptr().cast_mut();
    case
}

/// The all-zero case that ends an array of cases.
pub const fn end() -> bindings::kunit_case {
    // SAFETY: As in `case`: plain data, all zeroes has no `run_case`, which ends the array.
    unsafe { core::mem::zeroed() }
}

/// A suite named `name` (at most 255 bytes, checked at build time) of the cases at `cases`,
/// which end with [`end`].
pub const fn suite(name: &'static CStr, cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: `kunit_suite` is plain data: all zeroes is a suite with no callbacks and no
    // attributes, not yet initialised, which KUnit fills in.
    let mut suite: bindings::kunit_suite = unsafe { core::mem::zeroed() };
    let bytes = name.as_bytes_with_nul();
    assert!(
        bytes.len() <= suite.name.len(),
        "a KUnit suite's name has at most 255 bytes"
    );
    let mut i = 0;
    while i < bytes.len() {
        suite.name[i] = bytes[i] as _;
        i += 1;
    }
    suite.test_cases = cases;
    suite
}

/// Declares a KUnit suite: `kunit_suite!("name", [("case", function), ...]);` where each
/// function is a `fn()` that checks with [`kunit_check!`](crate::kunit_check). See the
/// [module documentation](self).
#[macro_export]
macro_rules! kunit_suite {
    ($suite:literal, [$(($name:literal, $run:path)),* $(,)?]) => {
        const _: () = {
            const N: usize = [$($name),*].len() + 1;
            static mut CASES: [$crate::bindings::kunit_case; N] = [
                $(
                    $crate::kunit_suite::case($crate::c_str!($name), $crate::c_str!($suite), {
                        struct C;
                        impl $crate::kunit_suite::Case for C {
                            const RUN: fn() = $run;
                        }
                        $crate::kunit_suite::run_case::<C>
                    }),
                )*
                $crate::kunit_suite::end(),
            ];
            static mut SUITE: $crate::bindings::kunit_suite = $crate::kunit_suite::suite(
                $crate::c_str!($suite),
                // Only the address: KUnit is the only user of the cases.
                ::core::ptr::addr_of_mut!(CASES).cast(),
            );
            // Where the module loader (or, built in, the linker script) collects the suites.
            #[used]
            #[link_section = ".kunit_test_suites"]
            static mut ENTRY: *mut $crate::bindings::kunit_suite =
                ::core::ptr::addr_of_mut!(SUITE);
        };
    };
}

/// Checks `cond` in a test case of a [`kunit_suite!`](crate::kunit_suite): if it is false, the
/// case fails with the condition and where it is logged, and ends there.
#[macro_export]
macro_rules! kunit_check {
    ($cond:expr $(,)?) => {{
        let ok: bool = $cond;
        if !ok {
            $crate::kunit::err(::core::format_args!(
                "    # {}:{}: expected {} to be true\n",
                ::core::file!(),
                ::core::line!(),
                ::core::stringify!($cond)
            ));
        }
        $crate::kunit_assert!("kunit_check", "kunit_check", 0, ok);
    }};
}
