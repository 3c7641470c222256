// SPDX-License-Identifier: GPL-2.0

//! A port's 64-bit counters: their indices, from the register map, and
//! the RMON size buckets.

pub use crate::regs::counters::*;

/// Bytes of FCS a frame has on the wire but not in the rings.
pub const FCS_LEN: usize = 4;
/// Lower bounds of the RMON size buckets, in bytes with FCS.
const BUCKETS: [usize; 10] = [64, 65, 128, 256, 512, 1024, 1519, 2048, 4096, 8192];

/// The RMON bucket of a frame of `len` bytes without FCS, or `None` if it
/// is undersize. The last bucket also takes frames past 9216 bytes with
/// FCS (a 9216-byte frame is 9220 on the wire).
pub fn rmon_bucket(len: usize) -> Option<usize> {
    let wire = len + FCS_LEN;
    BUCKETS.iter().rposition(|&low| wire >= low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_rmon() {
        let cases = [
            (14, None),
            (59, None),
            (60, Some(0)),
            (61, Some(1)),
            (123, Some(1)),
            (124, Some(2)),
            (1514, Some(5)),
            (1515, Some(6)),
            (2043, Some(6)),
            (2044, Some(7)),
            (4092, Some(8)),
            (8187, Some(8)),
            (8188, Some(9)),
            (9216, Some(9)),
        ];
        for (len, bucket) in cases {
            assert_eq!(rmon_bucket(len), bucket, "{len} bytes");
        }
        assert_eq!(TX_TC_BYTES + 8, RX_FILTERED);
        assert_eq!(RX_FILTERED + 1, RX_MAC_CONTROL);
        assert_eq!(LINK_DOWN_EVENTS + 1, NUM_COUNTERS);
        assert_eq!(RX_PAUSE + 8, RX_SIZE);
        assert_eq!(TX_SIZE + 10, RX_UNDERSIZE);
    }
}
