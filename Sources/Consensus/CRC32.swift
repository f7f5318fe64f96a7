// CRC-32 (IEEE 802.3, the one zlib, PNG and Ethernet use): reflected polynomial 0xEDB88320,
// initial value and final XOR 0xFFFFFFFF. The metadata log frames each record on disk with it so
// that a torn or corrupted tail is found on restart. Check value: "123456789" -> 0xCBF43926.
//
// Table-driven, one byte at a time: the records are small and written once per Ready, so the
// simplest table is enough; nothing here needs a faster slicing variant.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    /// The CRC-32 of `bytes`.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 { checksum(bytes[...]) }
}
