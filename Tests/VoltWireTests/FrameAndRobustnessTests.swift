// The frame layer (split and coalesced frames, size limits) and robustness of every decoder
// against malformed input: all truncations of every vector, seeded random mutations and random
// bytes. A crash (trap) would kill the test process, so completing is the assertion; the seeds are
// fixed so any failure replays.
import Testing
import VoltModel
import VoltWire

@Suite("Wire frames")
struct FrameDecoderTests {
    static func allFramesConcatenated() throws -> (stream: [UInt8], bodies: [[UInt8]]) {
        let frames = try WireVectors.allFrames().map(\.frame)
        return (frames.flatMap { $0 }, frames.map { Array($0.dropFirst(4)) })
    }

    @Test("all vectors coalesced into one chunk come out as the same bodies")
    func coalesced() throws {
        let (stream, bodies) = try Self.allFramesConcatenated()
        var decoder = FrameDecoder()
        decoder.append(stream)
        var out: [[UInt8]] = []
        while let body = try decoder.nextFrame() { out.append(body) }
        #expect(out == bodies)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test("splitting the stream at every byte boundary decodes the same frames")
    func everySplit() throws {
        let (stream, bodies) = try Self.allFramesConcatenated()
        for split in 0...stream.count {
            var decoder = FrameDecoder()
            var out: [[UInt8]] = []
            decoder.append(stream[..<split])
            while let body = try decoder.nextFrame() { out.append(body) }
            decoder.append(stream[split...])
            while let body = try decoder.nextFrame() { out.append(body) }
            #expect(out == bodies, "split at \(split)")
        }
    }

    @Test("byte-at-a-time delivery through the zero-copy path decodes the same frames")
    func byteAtATime() throws {
        let (stream, bodies) = try Self.allFramesConcatenated()
        var decoder = FrameDecoder()
        var out: [[UInt8]] = []
        for byte in stream {
            decoder.append(CollectionOfOne(byte))
            while let body = try decoder.withNextFrame({ (slice: ArraySlice<UInt8>) throws(WireError) in Array(slice) }) { out.append(body) }
        }
        #expect(out == bodies)
    }

    @Test("random chunkings of the stream (seeded) decode the same frames")
    func randomChunks() throws {
        let (stream, bodies) = try Self.allFramesConcatenated()
        var rng = SplitMix64(seed: 0x5eed_f4a3)
        for _ in 0..<200 {
            var decoder = FrameDecoder()
            var out: [[UInt8]] = []
            var at = 0
            while at < stream.count {
                let n = min(stream.count - at, Int.random(in: 1...300, using: &rng))
                decoder.append(stream[at..<at + n])
                at += n
                while let body = try decoder.nextFrame() { out.append(body) }
            }
            #expect(out == bodies)
        }
    }

    @Test("the maximum frame size is enforced with the offending size in the error")
    func maxFrameSize() throws {
        var decoder = FrameDecoder(maxFrameBytes: 100)
        decoder.append(encodeFrame([UInt8](repeating: 7, count: 100)))
        #expect(try decoder.nextFrame()?.count == 100)
        decoder.append([0, 0, 0, 101])
        let error = #expect(throws: WireError.self) { try decoder.nextFrame() }
        #expect(error?.kind == .frameTooLarge(length: 101, maxBytes: 100))
        // The error is sticky: the connection is to be closed.
        #expect(throws: WireError.self) { try decoder.nextFrame() }
    }

    @Test("a 2 GB length prefix is rejected from the 4 prefix bytes alone, before any body arrives")
    func twoGigabytePrefix() throws {
        var decoder = FrameDecoder()
        decoder.append([0x7f, 0xff, 0xff, 0xff])
        let error = #expect(throws: WireError.self) { try decoder.nextFrame() }
        #expect(error?.kind == .frameTooLarge(length: Int(Int32.max), maxBytes: FrameDecoder.defaultMaxFrameBytes))
        #expect(decoder.bufferedByteCount == 4)
        // Inside a body, a 2 GB string length is a truncation, not an allocation.
        var r = WireReader([0x7f, 0xff, 0xff, 0xff, 0x41])
        #expect((#expect(throws: WireError.self) { try r.readString("s") })?.kind == .truncated(needed: Int(Int32.max), available: 1))
    }

    @Test("negative length prefixes are errors; an empty body is a frame")
    func negativeAndEmpty() throws {
        var decoder = FrameDecoder()
        decoder.append([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe])
        #expect(try decoder.nextFrame() == [])
        #expect((#expect(throws: WireError.self) { try decoder.nextFrame() })?.kind == .negativeFrameLength(-2))
        #expect(encodeFrame([1, 2]) == [0, 0, 0, 2, 1, 2])
    }
}

@Suite("Wire robustness")
struct RobustnessTests {
    /// Runs the decoder that applies to `kind`; returns whether it accepted the body.
    @discardableResult
    static func decode(_ body: [UInt8], as kind: WireVectors.FrameKind) -> Bool {
        do {
            switch kind {
            case .loginRequest: _ = try LoginRequest.decode(body)
            case .loginResponse: _ = try LoginResponse.decode(body)
            case .invocation: _ = try Invocation.decode(body)
            case .response: _ = try ClientResponse.decode(body)
            }
            return true
        } catch {
            // Every error must describe itself without trapping.
            _ = error.description
            return false
        }
    }

    static let kinds: [WireVectors.FrameKind] = [.loginRequest, .loginResponse, .invocation, .response]

    @Test("every strict prefix of every vector body is rejected cleanly")
    func truncations() throws {
        var cases = 0
        for (name, kind, frame) in try WireVectors.allFrames() {
            let body = Array(frame.dropFirst(4))
            for n in 0..<body.count {
                // A prefix of a login failure (2 bytes) or a response cut exactly at a table
                // boundary could in principle be valid; none of the vectors has such a cut except
                // the empty prefix of nothing, so every strict prefix must fail.
                #expect(!Self.decode(Array(body[..<n]), as: kind), "\(name) cut to \(n) bytes decoded")
                cases += 1
            }
            // The empty-array quirk is malformed as a whole too.
            #expect(Self.decode(body, as: kind) == (name != "invocations.empty_array_quirk"), "\(name) whole")
        }
        #expect(cases > 2000)
    }

    @Test("seeded random mutations of every vector never crash any decoder")
    func mutations() throws {
        let frames = try WireVectors.allFrames()
        var rng = SplitMix64(seed: 0xdec0_de00_0001)
        for _ in 0..<6000 {
            let (_, kind, frame) = frames.randomElement(using: &rng)!
            var body = Array(frame.dropFirst(4))
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !body.isEmpty {
                let i = Int.random(in: 0..<body.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: body[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: body[i] = [0x00, 0x7f, 0x80, 0xff].randomElement(using: &rng)!
                case 2: body.remove(at: i)
                default: body.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                }
            }
            Self.decode(body, as: kind)
            // Also through the other decoders, which must reject foreign messages cleanly.
            for other in Self.kinds where other != kind { Self.decode(body, as: other) }
        }
    }

    @Test("seeded random byte strings never crash any decoder or the frame layer")
    func randomBytes() throws {
        var rng = SplitMix64(seed: 0x0bad_f00d)
        for _ in 0..<4000 {
            var body = (0..<Int.random(in: 0...96, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Bias the first bytes toward valid versions so decoding gets past the header.
            if !body.isEmpty { body[0] = [0, 1, 2, body[0]].randomElement(using: &rng)! }
            for kind in Self.kinds { Self.decode(body, as: kind) }
            var decoder = FrameDecoder(maxFrameBytes: 64)
            decoder.append(body)
            while true {
                do { guard try decoder.nextFrame() != nil else { break } } catch { break }
            }
        }
    }

    @Test("random parameter sets built from every type code decode or fail cleanly")
    func randomParameterTypes() {
        var rng = SplitMix64(seed: 0x7a9e_5e75)
        let codes: [UInt8] = [1, 3, 4, 5, 6, 8, 9, 11, 12, 20, 21, 22, 23, 25, 26, 27, 0x9d, 0, 2, 7, 10, 0xff]
        for _ in 0..<4000 {
            var w = WireWriter()
            InvocationHeader(procedure: "F", handle: 1).encode(into: &w)
            let count = Int.random(in: 0...4, using: &rng)
            w.writeInt16(Int16(count))
            for _ in 0..<count {
                w.writeUInt8(codes.randomElement(using: &rng)!)
                if Bool.random(using: &rng) { w.writeUInt8(codes.randomElement(using: &rng)!) }
                for _ in 0..<Int.random(in: 0...24, using: &rng) {
                    w.writeUInt8([0, 0xff, 0x7f, 0x80, 1, 2, UInt8.random(in: 0...255, using: &rng)].randomElement(using: &rng)!)
                }
            }
            Self.decode(w.bytes, as: .invocation)
        }
    }
}
