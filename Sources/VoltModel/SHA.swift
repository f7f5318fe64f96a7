// SHA-1 (RFC 3174) and SHA-256 (FIPS 180-4), one-shot. Used for login (the client sends the digest of
// the UTF-8 password (Python: always SHA-256; older Java clients: SHA-1) and the server compares
// it with the digest of the stored password, docs/PROTOCOL.md §2.2), for the
// deployment's config hash, and by the ring tests to check blobs against the vectors. Written here
// because the package takes no dependencies. Correctness is pinned by the standard test vectors
// in the tests ("", "abc", the 448- and 896-bit messages, a million "a"). Not constant-time in
// the message (passwords are short and hashed once per login); digest comparison is
// constant-time in `digestsEqual`.
//
// Full 64-byte blocks are compressed straight from the input; only the final one or two padded
// blocks are copied.

/// SHA-256, as used for VoltDB login digests.
public enum SHA256 {
    public static let digestByteCount = 32

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    public static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19]
        var w = [UInt32](repeating: 0, count: 64)
        forEachPaddedBlock(message) { block in compress(block, &h, &w) }
        return bigEndianBytes(h)
    }

    public static func digest(_ text: String) -> [UInt8] { digest(Array(text.utf8)) }

    /// The digest as lower-case hex, as `sha256sum` prints it.
    public static func hex(_ message: [UInt8]) -> String {
        digest(message).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    private static func compress(_ block: UnsafeRawBufferPointer, _ h: inout [UInt32], _ w: inout [UInt32]) {
        for i in 0..<16 { w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
    }
}

/// SHA-1, for logins from clients that send protocol version 0 or hash scheme 0.
public enum SHA1 {
    public static let digestByteCount = 20

    public static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476, 0xc3d2_e1f0]
        var w = [UInt32](repeating: 0, count: 80)
        forEachPaddedBlock(message) { block in compress(block, &h, &w) }
        return bigEndianBytes(h)
    }

    public static func digest(_ text: String) -> [UInt8] { digest(Array(text.utf8)) }

    private static func compress(_ block: UnsafeRawBufferPointer, _ h: inout [UInt32], _ w: inout [UInt32]) {
        for i in 0..<16 { w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        for i in 16..<80 { w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4]
        for i in 0..<80 {
            let f: UInt32
            let k: UInt32
            switch i {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5a82_7999
            case 20..<40: f = b ^ c ^ d; k = 0x6ed9_eba1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8f1b_bcdc
            default: f = b ^ c ^ d; k = 0xca62_c1d6
            }
            let t = rotl(a, 5) &+ f &+ e &+ k &+ w[i]
            e = d; d = c; c = rotl(b, 30); b = a; a = t
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
    }
}

/// Compares two digests in time that depends only on their lengths.
public func digestsEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
@inline(__always) private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

private func bigEndianBytes(_ words: [UInt32]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(words.count * 4)
    for word in words { withUnsafeBytes(of: word.bigEndian) { out.append(contentsOf: $0) } }
    return out
}

/// Calls `compress` with every 64-byte block of the Merkle–Damgård padded message (both hashes
/// pad the same way: 0x80, zeros, the bit length as a big-endian UInt64).
private func forEachPaddedBlock(_ message: [UInt8], _ compress: (UnsafeRawBufferPointer) -> Void) {
    let fullBlocks = message.count / 64
    message.withUnsafeBytes { raw in
        for i in 0..<fullBlocks { compress(UnsafeRawBufferPointer(rebasing: raw[64 * i..<64 * i + 64])) }
    }
    var tail = Array(message[(64 * fullBlocks)...])
    tail.append(0x80)
    while tail.count % 64 != 56 { tail.append(0) }
    withUnsafeBytes(of: (UInt64(message.count) &* 8).bigEndian) { tail.append(contentsOf: $0) }
    tail.withUnsafeBytes { raw in
        for i in 0..<(tail.count / 64) { compress(UnsafeRawBufferPointer(rebasing: raw[64 * i..<64 * i + 64])) }
    }
}
