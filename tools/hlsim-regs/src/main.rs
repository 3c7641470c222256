// SPDX-License-Identifier: GPL-2.0

//! Prints the selftests' `regs.sh`: from the top of the tree,
//! `cargo run -q --manifest-path tools/Cargo.toml -p hlsim-regs > PATH`,
//! PATH being [`hlsim_regs::SHELL_PATH`].

fn main() {
    print!("{}", hlsim_regs::shell());
}
