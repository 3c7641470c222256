// SPDX-License-Identifier: GPL-2.0

//! The C interface as a C user gets it: include/hlthunk.h compiles as C11
//! and as C++ without warnings, and tests/c_smoke.c links with libhlthunk,
//! shared and static, and runs. Without a device it skips (exit 4).

use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Where cargo put libhlthunk.so and libhlthunk.a: beside this test.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_owned()
}

fn include_args() -> [String; 2] {
    [
        format!("-I{MANIFEST}/include"),
        format!("-I{MANIFEST}/../../include/uapi"),
    ]
}

fn compile(compiler: &str, args: &[&str]) {
    let out = Command::new(compiler)
        .args(["-Wall", "-Wextra", "-Werror"])
        .args(include_args())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler} {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the smoke test: it skips on a machine without a device and
/// passes on one with.
fn run_smoke(exe: &Path) {
    let out = Command::new(exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(4) => assert!(stdout.starts_with("1..0 # SKIP"), "{stdout}"),
        Some(0) => assert!(Path::new("/dev/hl0").exists(), "{stdout}"),
        code => panic!("exit {code:?}:\n{stdout}"),
    }
}

#[test]
fn header_compiles_as_c_and_cxx() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = tmp.join("hlthunk_cxx.cc");
    std::fs::write(
        &src,
        "#include <hlthunk.h>\n\
         int main() { return hlthunk_open(HLTHUNK_DEVICE_DONT_CARE, nullptr) < 0; }\n",
    )
    .unwrap();
    compile("g++", &["-fsyntax-only", src.to_str().unwrap()]);
    compile(
        "gcc",
        &[
            "-std=c11",
            "-pedantic",
            "-fsyntax-only",
            &format!("{MANIFEST}/include/hlthunk.h"),
        ],
    );
}

/// A directory with the shared library as the loader looks for it: by its soname,
/// `libhlthunk.so.0`, beside the development name the linker takes.
fn shared_lib_dir(tmp: &Path) -> PathBuf {
    let dir = tmp.join("c-abi-lib");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let so = dir.join("libhlthunk.so");
    std::fs::copy(lib_dir().join("libhlthunk.so"), &so).unwrap();
    let soname = format!("libhlthunk.so.{}", env!("CARGO_PKG_VERSION_MAJOR"));
    std::os::unix::fs::symlink("libhlthunk.so", dir.join(soname)).unwrap();
    dir
}

#[test]
fn smoke_links_shared_and_static() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let lib = shared_lib_dir(&tmp);
    let src = format!("{MANIFEST}/tests/c_smoke.c");
    let shared = tmp.join("hlthunk-c-smoke");
    let stat = tmp.join("hlthunk-c-smoke-static");
    compile(
        "gcc",
        &[
            "-std=c11",
            "-pedantic",
            &src,
            &format!("-L{}", lib.display()),
            &format!("-Wl,-rpath,{}", lib.display()),
            "-lhlthunk",
            "-o",
            shared.to_str().unwrap(),
        ],
    );
    compile(
        "gcc",
        &[
            "-std=c11",
            &src,
            lib_dir().join("libhlthunk.a").to_str().unwrap(),
            "-o",
            stat.to_str().unwrap(),
        ],
    );
    run_smoke(&shared);
    run_smoke(&stat);
}
