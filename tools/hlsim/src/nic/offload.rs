// SPDX-License-Identifier: GPL-2.0

//! What a port does to frames besides moving them: the TX checksum it
//! inserts, the TCP segmentation it performs (TSO) and the checksums it
//! verifies on receive.
//!
//! Frames are Ethernet frames without FCS. The network header follows the
//! Ethernet header, or one 802.1Q tag.

/// Ethertype of IPv4.
const ETH_P_IP: u16 = 0x0800;
/// Ethertype of IPv6.
const ETH_P_IPV6: u16 = 0x86dd;
/// Ethertype of an 802.1Q tag.
const ETH_P_8021Q: u16 = 0x8100;
/// IP protocol number of TCP.
const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
const IPPROTO_UDP: u8 = 17;
/// TCP flags cleared in every segment but the last: FIN, PSH.
const TCP_LAST_ONLY: u8 = 0x01 | 0x08;
/// TCP flag kept in the first segment only: CWR.
const TCP_FIRST_ONLY: u8 = 0x80;

/// Why a frame could not be offloaded: the model counts it in `tx_errors`.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The ones' complement sum of `data` (as big-endian 16-bit words, an odd
/// last byte padded with zero) added to `sum`, not folded.
pub fn sum(data: &[u8], mut sum: u64) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [b] = words.remainder() {
        sum += u64::from(*b) << 8;
    }
    sum
}

/// `sum` folded to 16 bits.
pub fn fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The Internet checksum of `data` starting from `sum`: the complement of
/// the folded sum, 0xffff for 0 (the same value in ones' complement, and
/// what UDP needs).
fn checksum(data: &[u8], start: u64) -> u16 {
    match !fold(sum(data, start)) {
        0 => 0xffff,
        c => c,
    }
}

/// `NETIF_F_HW_CSUM`: the checksum of the frame from `start` to its end,
/// whose field at `start + offset` holds what the sender put there (the
/// pseudo-header's sum), written at `start + offset`.
pub fn insert_checksum(frame: &mut [u8], start: usize, offset: usize) -> Result<(), Invalid> {
    let at = start + offset;
    if at + 2 > frame.len() {
        return Err(Invalid);
    }
    let c = checksum(&frame[start..], 0);
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// Offset of the network header and its ethertype.
fn network(frame: &[u8]) -> Option<(usize, u16)> {
    match be16(frame, 12)? {
        ETH_P_8021Q => Some((18, be16(frame, 16)?)),
        proto => Some((14, proto)),
    }
}

/// An IP header: where the transport header starts and its protocol.
struct Ip {
    l3: usize,
    v6: bool,
    l4: usize,
    proto: u8,
}

/// The IP header of `frame`: IPv4 without fragmentation, or IPv6 without
/// extension headers (the transport header follows the fixed header).
fn ip(frame: &[u8]) -> Option<Ip> {
    let (l3, proto) = network(frame)?;
    match proto {
        ETH_P_IP => {
            let vihl = *frame.get(l3)?;
            let ihl = usize::from(vihl & 0xf) * 4;
            let frag = be16(frame, l3 + 6)? & 0x3fff;
            (vihl >> 4 == 4 && ihl >= 20 && frag == 0 && frame.len() >= l3 + ihl).then_some(Ip {
                l3,
                v6: false,
                l4: l3 + ihl,
                proto: *frame.get(l3 + 9)?,
            })
        }
        ETH_P_IPV6 => (*frame.get(l3)? >> 4 == 6 && frame.len() >= l3 + 40).then_some(Ip {
            l3,
            v6: true,
            l4: l3 + 40,
            proto: *frame.get(l3 + 6)?,
        }),
        _ => None,
    }
}

/// The unfolded sum of the pseudo-header of `ip` for `len` bytes of
/// transport.
fn pseudo(frame: &[u8], ip: &Ip, len: usize) -> u64 {
    let addrs = if ip.v6 {
        &frame[ip.l3 + 8..ip.l3 + 40]
    } else {
        &frame[ip.l3 + 12..ip.l3 + 20]
    };
    sum(addrs, u64::from(ip.proto) + len as u64)
}

/// Whether `frame` is TCP or UDP over IP whose checksums (the IPv4
/// header's and the transport's) verify: what the RX descriptor's
/// `CSUM_OK` reports. A UDP datagram over IPv4 without a checksum does not.
pub fn rx_checksum_ok(frame: &[u8]) -> bool {
    let Some(ip) = ip(frame) else {
        return false;
    };
    if !ip.v6 && fold(sum(&frame[ip.l3..ip.l4], 0)) != 0xffff {
        return false;
    }
    // The transport ends where IP says, before any Ethernet padding.
    let end = if ip.v6 {
        be16(frame, ip.l3 + 4).map(|n| ip.l4 + usize::from(n))
    } else {
        be16(frame, ip.l3 + 2).map(|n| ip.l3 + usize::from(n))
    };
    let Some(l4) = end
        .filter(|&e| e > ip.l4 && e <= frame.len())
        .map(|e| &frame[ip.l4..e])
    else {
        return false;
    };
    let field = match ip.proto {
        IPPROTO_TCP => 16,
        IPPROTO_UDP => 6,
        _ => return false,
    };
    if l4.len() < field + 2 || (ip.proto == IPPROTO_UDP && !ip.v6 && be16(l4, 6) == Some(0)) {
        return false;
    }
    fold(sum(l4, pseudo(frame, &ip, l4.len()))) == 0xffff
}

/// TCP segmentation: cuts `frame`, a TCP segment over IPv4 or IPv6 whose
/// TCP header starts at `l4`, into frames of at most `mss` bytes of
/// payload each, with their IP lengths, IPv4 identifications and header
/// checksums, TCP sequence numbers, flags and checksums written.
pub fn segment(frame: &[u8], l4: usize, mss: usize) -> Result<Vec<Vec<u8>>, Invalid> {
    let ip = ip(frame)
        .filter(|ip| ip.l4 == l4 && ip.proto == IPPROTO_TCP)
        .ok_or(Invalid)?;
    let doff = usize::from(*frame.get(l4 + 12).ok_or(Invalid)? >> 4) * 4;
    let hdr = l4 + doff;
    if doff < 20 || hdr > frame.len() || mss == 0 {
        return Err(Invalid);
    }
    let payload = &frame[hdr..];
    let seq = be32(frame, l4 + 4).ok_or(Invalid)?;
    let id = be16(frame, ip.l3 + 4).ok_or(Invalid)?;
    let flags = frame[l4 + 13];
    let n = payload.len().div_ceil(mss).max(1);
    let mut out = Vec::with_capacity(n);
    for (i, chunk) in payload
        .chunks(mss)
        .chain(payload.is_empty().then_some(&[][..]))
        .enumerate()
    {
        let mut seg = Vec::with_capacity(hdr + chunk.len());
        seg.extend_from_slice(&frame[..hdr]);
        seg.extend_from_slice(chunk);
        let tcp_len = doff + chunk.len();
        if ip.v6 {
            seg[ip.l3 + 4..ip.l3 + 6].copy_from_slice(&(tcp_len as u16).to_be_bytes());
        } else {
            let total = (l4 - ip.l3 + tcp_len) as u16;
            seg[ip.l3 + 2..ip.l3 + 4].copy_from_slice(&total.to_be_bytes());
            seg[ip.l3 + 4..ip.l3 + 6].copy_from_slice(&id.wrapping_add(i as u16).to_be_bytes());
            seg[ip.l3 + 10..ip.l3 + 12].fill(0);
            let c = !fold(sum(&seg[ip.l3..l4], 0));
            seg[ip.l3 + 10..ip.l3 + 12].copy_from_slice(&c.to_be_bytes());
        }
        let seq = seq.wrapping_add((i * mss) as u32);
        seg[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
        let mut f = flags;
        if i + 1 < n {
            f &= !TCP_LAST_ONLY;
        }
        if i > 0 {
            f &= !TCP_FIRST_ONLY;
        }
        seg[l4 + 13] = f;
        seg[l4 + 16..l4 + 18].fill(0);
        let c = checksum(&seg[l4..], pseudo(&seg, &ip, tcp_len));
        seg[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        out.push(seg);
    }
    Ok(out)
}

/// The Toeplitz hash of `input` with `key` (the RSS hash).
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let bit = |i: usize| key.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
    // The 32 key bits at the current input bit.
    let mut window = (0..32).fold(0u32, |w, i| w << 1 | u32::from(bit(i)));
    let mut hash = 0;
    for (n, byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                hash ^= window;
            }
            window = window << 1 | u32::from(bit(n * 8 + b + 32));
        }
    }
    hash
}

/// What RSS hashes of `frame`: the IP source and destination addresses,
/// then the source and destination ports of TCP or UDP; nothing if the
/// frame is not IP.
pub fn rss_input(frame: &[u8]) -> Option<Vec<u8>> {
    let ip = ip(frame)?;
    let mut input = if ip.v6 {
        frame[ip.l3 + 8..ip.l3 + 40].to_vec()
    } else {
        frame[ip.l3 + 12..ip.l3 + 20].to_vec()
    };
    if matches!(ip.proto, IPPROTO_TCP | IPPROTO_UDP) {
        if let Some(ports) = frame.get(ip.l4..ip.l4 + 4) {
            input.extend_from_slice(ports);
        }
    }
    Some(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 or IPv6 + TCP frame with `payload`, its
    /// checksums correct.
    fn tcp(v6: bool, payload: &[u8], flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&if v6 { ETH_P_IPV6 } else { ETH_P_IP }.to_be_bytes());
        let l3 = f.len();
        if v6 {
            f.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, IPPROTO_TCP, 64]);
            f.extend((0..32).map(|i| i as u8));
            let len = (20 + payload.len()) as u16;
            f[l3 + 4..l3 + 6].copy_from_slice(&len.to_be_bytes());
        } else {
            f.extend_from_slice(&[0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, IPPROTO_TCP, 0, 0]);
            f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
            let len = (20 + 20 + payload.len()) as u16;
            f[l3 + 2..l3 + 4].copy_from_slice(&len.to_be_bytes());
            let c = !fold(sum(&f[l3..], 0));
            f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
        }
        let l4 = f.len();
        f.extend_from_slice(&[0x30, 0x39, 0x00, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, flags]);
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        let ip = ip(&f).unwrap();
        let c = checksum(&f[l4..], pseudo(&f, &ip, f.len() - l4));
        f[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        f
    }

    #[test]
    fn toeplitz_matches_the_published_example() {
        // The RSS specification's key and its first IPv4 example.
        let key = [
            0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
            0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
            0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
        ];
        let input = [66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6];
        assert_eq!(toeplitz(&key, &input), 0x51cc_c178);
        assert_eq!(toeplitz(&key, &input[..8]), 0x323e_8fc2);
        let f = tcp(false, b"x", 0x10);
        assert_eq!(rss_input(&f).unwrap().len(), 12);
        assert_eq!(rss_input(&[0u8; 60]), None);
    }

    #[test]
    fn checksums_verify_and_corruption_is_seen() {
        for v6 in [false, true] {
            let mut f = tcp(v6, b"hello, world", 0x18);
            assert!(rx_checksum_ok(&f));
            let last = f.len() - 1;
            f[last] ^= 1;
            assert!(!rx_checksum_ok(&f));
        }
        assert!(!rx_checksum_ok(&[0u8; 60]));
    }

    #[test]
    fn inserted_checksum_is_what_a_receiver_verifies() {
        for v6 in [false, true] {
            let good = tcp(v6, &[7u8; 333], 0x18);
            let l4 = if v6 { 54 } else { 34 };
            // What the stack hands over: the pseudo-header sum in the field.
            let mut f = good.clone();
            let ip = ip(&f).unwrap();
            let p = fold(pseudo(&f, &ip, f.len() - l4));
            f[l4 + 16..l4 + 18].copy_from_slice(&p.to_be_bytes());
            insert_checksum(&mut f, l4, 16).unwrap();
            assert!(rx_checksum_ok(&f), "v6 {v6}");
            assert_eq!(insert_checksum(&mut f, l4, 10_000), Err(Invalid));
        }
    }

    #[test]
    fn segments_carry_the_payload_in_order_with_valid_headers() {
        for v6 in [false, true] {
            let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
            let f = tcp(v6, &payload, 0x19); // FIN, PSH, ACK
            let l4 = if v6 { 54 } else { 34 };
            let segs = segment(&f, l4, 1448).unwrap();
            assert_eq!(segs.len(), 4);
            let mut joined = Vec::new();
            for (i, s) in segs.iter().enumerate() {
                assert!(rx_checksum_ok(s), "segment {i}");
                assert!(s.len() <= l4 + 20 + 1448);
                let seq = be32(s, l4 + 4).unwrap();
                assert_eq!(seq, (i * 1448) as u32);
                let fin_psh = s[l4 + 13] & TCP_LAST_ONLY;
                assert_eq!(fin_psh != 0, i == 3);
                if !v6 {
                    assert_eq!(be16(s, 14 + 4), Some(0x1234 + i as u16));
                }
                joined.extend_from_slice(&s[l4 + 20..]);
            }
            assert_eq!(joined, payload);
        }
        let f = tcp(false, b"x", 0x10);
        assert_eq!(segment(&f, 30, 100), Err(Invalid));
        assert_eq!(segment(&f, 34, 0), Err(Invalid));
    }
}
