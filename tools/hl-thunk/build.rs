// SPDX-License-Identifier: GPL-2.0

//! Generates the Rust types of the uAPI (include/uapi/misc/habanalabs.h)
//! and of the C interface (include/hlthunk.h) with bindgen, so that each
//! header stays the single source of truth for its structs and constants.

use std::env;
use std::path::PathBuf;

use bindgen::callbacks::{IntKind, ParseCallbacks};

/// Gives every address macro (`*_BASE`) the type `u64` and every ioctl
/// request the type of `libc::ioctl`'s request argument.
#[derive(Debug)]
struct MacroTypes;

impl ParseCallbacks for MacroTypes {
    fn int_macro(&self, name: &str, _value: i64) -> Option<IntKind> {
        if name.ends_with("_BASE") {
            Some(IntKind::U64)
        } else if name.starts_with("HL_IOCTL_") {
            Some(IntKind::ULong)
        } else {
            None
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let uapi_dir = manifest.join("../../include/uapi");
    let uapi = uapi_dir.join("misc/habanalabs.h");
    let capi = manifest.join("include/hlthunk.h");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    // The shared library's soname carries the ABI's major version, as install.sh names the
    // file and its links.
    println!(
        "cargo::rustc-cdylib-link-arg=-Wl,-soname,libhlthunk.so.{}",
        env::var("CARGO_PKG_VERSION_MAJOR").unwrap()
    );
    for header in [&uapi, &capi] {
        println!("cargo::rerun-if-changed={}", header.display());
    }

    let include = format!("-I{}", uapi_dir.display());
    let builder = || {
        bindgen::Builder::default()
            .clang_arg(&include)
            .use_core()
            .derive_default(true)
            .prepend_enum_name(false)
            .layout_tests(true)
    };

    // The ioctl numbers are function-like macros: clang evaluates them.
    builder()
        .header(uapi.to_str().unwrap())
        .allowlist_type("hl_.*|gaudi_queue_id")
        .allowlist_var("HL_.*|GAUDI_QUEUE_ID_.*")
        .clang_macro_fallback()
        .parse_callbacks(Box::new(MacroTypes))
        .generate()
        .expect("bindgen failed on the uAPI header")
        .write_to_file(out.join("uapi.rs"))
        .unwrap();

    // The C interface's own types; it refers to the uAPI's, which
    // src/capi.rs brings into scope.
    builder()
        .header(capi.to_str().unwrap())
        .allowlist_type("hlthunk_.*")
        .allowlist_var("HLTHUNK_DEVICE_.*|HLTHUNK_MAX_MINOR")
        .blocklist_type("hl_.*")
        .blocklist_type("__u.*")
        .generate()
        .expect("bindgen failed on include/hlthunk.h")
        .write_to_file(out.join("capi.rs"))
        .unwrap();
}
