// SPDX-License-Identifier: GPL-2.0

//! A port's 64-bit counters, by their index in the `COUNTERS` array.

/// `tx_frames`: frames sent.
pub const TX_FRAMES: usize = 0;
/// `tx_bytes`: their bytes.
pub const TX_BYTES: usize = 1;
/// `rx_frames`: frames received into the RX ring.
pub const RX_FRAMES: usize = 2;
/// `rx_bytes`: their bytes.
pub const RX_BYTES: usize = 3;
/// `tx_errors`: bad TX descriptors.
pub const TX_ERRORS: usize = 4;
/// `tx_dropped`: frames sent while the link was down.
pub const TX_DROPPED: usize = 5;
/// `rx_no_buffer`: frames dropped for want of an RX buffer.
pub const RX_NO_BUFFER: usize = 6;
/// `rx_oversize`: frames longer than `MAX_FRAME` or the buffer.
pub const RX_OVERSIZE: usize = 7;
/// `rx_fcs_errors`: frames that arrived corrupted.
pub const RX_FCS_ERRORS: usize = 8;
/// `tx_pause[0]`; priority `p` is `TX_PAUSE + p`.
pub const TX_PAUSE: usize = 9;
/// `rx_pause[0]`; priority `p` is `RX_PAUSE + p`.
pub const RX_PAUSE: usize = 17;
/// `rx_size[0]`; RMON bucket `b` is `RX_SIZE + b`.
pub const RX_SIZE: usize = 25;
/// `tx_size[0]`; RMON bucket `b` is `TX_SIZE + b`.
pub const TX_SIZE: usize = 35;
/// `rx_undersize`: frames shorter than 64 bytes with FCS.
pub const RX_UNDERSIZE: usize = 45;
/// `fec_corrected`: FEC corrected codewords.
pub const FEC_CORRECTED: usize = 46;
/// `fec_uncorrectable`: FEC uncorrectable codewords.
pub const FEC_UNCORRECTABLE: usize = 47;
/// `pcs_errors`: PCS symbol errors.
pub const PCS_ERRORS: usize = 48;
/// `tx_tc_bytes[0]`; traffic class `t` is `TX_TC_BYTES + t`.
pub const TX_TC_BYTES: usize = 49;
/// Counters in the array.
pub const NUM_COUNTERS: usize = 57;

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
        assert_eq!(TX_TC_BYTES + 8, NUM_COUNTERS);
        assert_eq!(RX_PAUSE + 8, RX_SIZE);
        assert_eq!(TX_SIZE + 10, RX_UNDERSIZE);
    }
}
