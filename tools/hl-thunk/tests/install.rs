// SPDX-License-Identifier: GPL-2.0

//! hl-thunk as a packager installs it (install.sh into a staging root): the
//! shared library carries its soname and links, pkg-config finds the library
//! and puts the installed uAPI header ahead of the system's, a C program
//! built from pkg-config's flags alone links and runs, and the manual pages
//! format without a warning.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const PREFIX: &str = "/usr/local";

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Installs into a fresh staging root named `name` and returns it.
fn install(name: &str) -> PathBuf {
    let stage = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let build = stage.with_extension("build");
    for dir in [&stage, &build] {
        let _ = fs::remove_dir_all(dir);
    }
    // What install.sh takes from cargo's release directory: the libraries, which a test
    // finds beside itself, and the command.
    fs::create_dir_all(&build).unwrap();
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    for lib in ["libhlthunk.so", "libhlthunk.a"] {
        symlink(deps.join(lib), build.join(lib)).unwrap();
    }
    symlink(env!("CARGO_BIN_EXE_hl-thunk"), build.join("hl-thunk")).unwrap();
    run(Command::new(format!("{MANIFEST}/install.sh"))
        .env("DESTDIR", &stage)
        .env("PREFIX", PREFIX)
        .env("BUILD", &build));
    stage
}

fn pkg_config(stage: &Path, args: &[&str]) -> Vec<String> {
    let out = run(Command::new("pkg-config")
        .args(args)
        .arg("hlthunk")
        .env("PKG_CONFIG_PATH", stage.join("usr/local/lib/pkgconfig"))
        .env("PKG_CONFIG_SYSROOT_DIR", stage));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn installs_a_library_pkg_config_finds() {
    let stage = install("stage-lib");
    let lib = stage.join("usr/local/lib");
    let version = env!("CARGO_PKG_VERSION");
    let major = env!("CARGO_PKG_VERSION_MAJOR");

    // The development link, the soname link, the file.
    let soname = format!("libhlthunk.so.{major}");
    assert_eq!(
        fs::read_link(lib.join("libhlthunk.so")).unwrap(),
        Path::new(&soname)
    );
    assert_eq!(
        fs::read_link(lib.join(&soname)).unwrap(),
        Path::new(&format!("libhlthunk.so.{version}"))
    );
    let dynamic = run(Command::new("readelf").arg("-d").arg(lib.join(&soname)));
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic.contains(&format!("Library soname: [{soname}]")),
        "{dynamic}"
    );
    for f in [
        "usr/local/bin/hl-thunk",
        "usr/local/lib/libhlthunk.a",
        "usr/local/include/hlthunk/hlthunk.h",
        "usr/local/include/hlthunk/misc/habanalabs.h",
    ] {
        assert!(stage.join(f).is_file(), "{f} not installed");
    }

    assert_eq!(pkg_config(&stage, &["--modversion"]), [version]);
    let cflags = pkg_config(&stage, &["--cflags"]);
    let libs = pkg_config(&stage, &["--libs"]);
    assert_eq!(
        libs.last().map(String::as_str),
        Some("-lhlthunk"),
        "{libs:?}"
    );

    // A C program built with nothing but pkg-config's flags: HL_IOCTL_NIC is only in the
    // installed uAPI header (the system's, Linux 6.1's, lacks it), so this also shows that
    // the installed copy comes first.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = tmp.join("installed_client.c");
    fs::write(
        &src,
        "#include <hlthunk.h>\n#include <stdio.h>\n\
         int main(void)\n{\n\
         \tint fd = hlthunk_open(HLTHUNK_DEVICE_DONT_CARE, NULL);\n\
         \tprintf(\"nic ioctl %#lx, open %d\\n\", (unsigned long)HL_IOCTL_NIC, fd);\n\
         \treturn fd >= 0 ? hlthunk_close(fd) != 0 : 0;\n}\n",
    )
    .unwrap();
    let exe = tmp.join("installed_client");
    run(Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .args(&cflags)
        .args(&libs)
        .arg(format!("-Wl,-rpath,{}", lib.display())));
    let out = run(&mut Command::new(&exe));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("nic ioctl 0x"), "{stdout}");
}

#[test]
fn manual_pages_format_cleanly() {
    let stage = install("stage-man");
    for page in ["man1/hl-thunk.1", "man3/hlthunk.3"] {
        let path = stage.join("usr/local/share/man").join(page);
        let out = run(Command::new("groff")
            .args(["-man", "-ww", "-z", "-t"])
            .arg(&path)
            .env("LC_ALL", "C.UTF-8"));
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.is_empty(), "{page}: {warnings}");
        let text = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-P-cbu"])
            .arg(&path)
            .env("LC_ALL", "C.UTF-8"));
        assert!(
            String::from_utf8_lossy(&text.stdout).contains("SEE ALSO"),
            "{page} renders empty"
        );
    }
}
