// SPDX-License-Identifier: GPL-2.0

//! Port module EEPROMs: SFF-8636 pages of a QSFP28 100G copper module.

/// Bytes of the image: lower page 0, upper pages 00h and 03h.
pub const IMAGE_LEN: usize = 384;
/// SFF-8024 identifier of a QSFP28 module.
pub const IDENTIFIER_QSFP28: u8 = 0x11;
/// Vendor name, padded with spaces to 16 bytes.
pub const VENDOR: &str = "HLSIM";
/// Bytes `CC_BASE` covers (upper page 00h).
pub const CC_BASE_RANGE: std::ops::Range<usize> = 128..191;
/// Offset of `CC_BASE`.
pub const CC_BASE: usize = 191;
/// Bytes `CC_EXT` covers.
pub const CC_EXT_RANGE: std::ops::Range<usize> = 192..223;
/// Offset of `CC_EXT`.
pub const CC_EXT: usize = 223;

/// The low 8 bits of the sum of `bytes`, an SFF-8636 check code.
pub fn check_code(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// The module serial number of port `port` of the device `serial`:
/// unique per device (by the low 32 bits) and port.
pub fn module_serial(serial: u64, port: usize) -> String {
    format!("HL{:08X}-P{port:02}", serial as u32)
}

/// The EEPROM image of port `port` of the device with serial `serial`.
pub fn image(serial: u64, port: usize) -> [u8; IMAGE_LEN] {
    let mut e = [0u8; IMAGE_LEN];
    let mut put = |off: usize, bytes: &[u8]| e[off..off + bytes.len()].copy_from_slice(bytes);
    let padded = |s: &str, len: usize| -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.resize(len, b' ');
        v
    };
    // Lower page 0: identifier, revision (SFF-8636 2.10a), paged memory,
    // then the monitors: 30 C and 3.3 V.
    put(0, &[IDENTIFIER_QSFP28, 0x08, 0x00]);
    put(22, &[30, 0]);
    put(26, &33000u16.to_be_bytes());
    // Upper page 00h: identifier, power class 1, no separable connector,
    // extended compliance, 256B/257B, bit rate above 25.4G, 1 m copper.
    put(128, &[IDENTIFIER_QSFP28, 0x00, 0x23, 0x80]);
    put(139, &[0x07, 0xff]);
    put(146, &[1, 0xa0]);
    put(148, &padded(VENDOR, 16));
    put(168, &padded("HLSIM-QSFP28-CR4", 16));
    put(184, b"A0");
    put(190, &[70]);
    // Extended: 100GBASE-CR4, serial, date code, 25.78125 GBd per lane.
    put(192, &[0x0b]);
    put(196, &padded(&module_serial(serial, port), 16));
    put(212, b"250101  ");
    put(222, &[103]);
    // Upper page 03h: temperature alarm and warning thresholds (75, -5,
    // 70 and 0 C) at its bytes 128-135, supply ones at 144-151.
    let thresholds: [u16; 8] = [75 << 8, 0xfb00, 70 << 8, 0, 0, 0, 0, 0];
    let supply: [u16; 4] = [36000, 30000, 35000, 31000];
    for (i, t) in thresholds.iter().chain(&supply).enumerate() {
        let off = if i < 8 {
            256 + 2 * i
        } else {
            256 + 16 + 2 * (i - 8)
        };
        put(off, &t.to_be_bytes());
    }
    e[CC_BASE] = check_code(&e[CC_BASE_RANGE]);
    e[CC_EXT] = check_code(&e[CC_EXT_RANGE]);
    e
}
