// SPDX-License-Identifier: GPL-2.0

//! The selftests' `regs.sh` is what the map generates.

use std::fs;
use std::path::Path;

#[test]
fn selftests_regs_sh_is_generated_from_the_map() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = top.join(hlsim_regs::SHELL_PATH);
    let kept = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let generated = hlsim_regs::shell();
    if kept != generated {
        let line = kept
            .lines()
            .zip(generated.lines())
            .position(|(k, g)| k != g)
            .unwrap_or_else(|| kept.lines().count().min(generated.lines().count()));
        panic!(
            "{} differs from the register map from its line {}; regenerate it with\n  \
             cargo run -q --manifest-path tools/Cargo.toml -p hlsim-regs > {}",
            hlsim_regs::SHELL_PATH,
            line + 1,
            hlsim_regs::SHELL_PATH,
        );
    }
}
