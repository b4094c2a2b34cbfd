/// A bounds-checked cursor over the bytes of a GGUF file, parsing its header (everything before the data).
struct GGUFReader {
    /// What the header holds.
    struct Header {
        var version: Int
        var metadata: [String: GGUFValue]
        var metadataKeys: [String]
        var tensors: [String: GGUFTensorInfo]
        var tensorNames: [String]
        var alignment: Int
        var dataStart: Int
    }

    let base: UnsafeRawPointer
    let count: Int
    let path: String
    var position = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    func fail(_ reason: String) -> ModelError { .malformedGGUF(path: path, reason: reason) }

    /// Parses the header and checks every tensor's data against the file.
    mutating func header() throws -> Header {
        guard count >= 24 else { throw fail("file is \(count) bytes, shorter than the 24-byte GGUF header") }
        guard try u32() == 0x4655_4747 else { throw fail("no GGUF magic at byte 0") }
        let version = try u32()
        guard version == 2 || version == 3 else { throw fail("version \(version) is not supported (2 and 3 are)") }
        // Each key/value takes at least 13 bytes and each tensor info at least 24: counts beyond that cannot fit.
        let tensorCount = try u64(), keyCount = try u64()
        guard keyCount <= UInt64(remaining / 13) else { throw fail("\(keyCount) metadata entries cannot fit in \(count) bytes") }
        var metadata: [String: GGUFValue] = [:], keys: [String] = []
        for _ in 0..<Int(keyCount) {
            let at = position
            let key = try string()
            let value = try self.value(type: try u32(), depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw fail("metadata key '\(key)' appears more than once (second at byte \(at))")
            }
            keys.append(key)
        }
        guard tensorCount <= UInt64(remaining / 24) else { throw fail("\(tensorCount) tensor infos cannot fit in \(count) bytes") }
        var alignment = 32
        if let declared = metadata["general.alignment"] {
            guard case .unsigned(let a, 32) = declared, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw fail("general.alignment \(declared) (\(declared.typeName)) is not a UINT32 power of two up to 1 MiB")
            }
            alignment = Int(a)
        }
        var tensors: [String: GGUFTensorInfo] = [:], names: [String] = []
        for _ in 0..<Int(tensorCount) {
            let info = try tensorInfo(alignment: alignment)
            guard tensors.updateValue(info, forKey: info.name) == nil else { throw fail("tensor '\(info.name)' appears more than once") }
            names.append(info.name)
        }
        let dataStart = (position + alignment - 1) / alignment * alignment
        guard dataStart <= count else { throw fail("data section would start at byte \(dataStart), past the end (\(count) bytes)") }
        let dataSize = count - dataStart
        var previous: GGUFTensorInfo?
        for info in tensors.values.sorted(by: { ($0.offset, $0.name) < ($1.offset, $1.name) }) {
            guard info.byteCount <= dataSize, info.offset <= dataSize - info.byteCount else {
                throw fail("tensor '\(info.name)' (\(info.byteCount) bytes at data offset \(info.offset)) runs past the end of the file")
            }
            if let previous, previous.offset + previous.byteCount > info.offset {
                throw fail("tensor '\(info.name)' at data offset \(info.offset) overlaps '\(previous.name)'")
            }
            previous = info
        }
        return Header(version: Int(version), metadata: metadata, metadataKeys: keys, tensors: tensors, tensorNames: names,
                      alignment: alignment, dataStart: dataStart)
    }

    private var remaining: Int { count - position }

    private mutating func take(_ n: Int) throws -> UnsafeRawPointer {
        guard n <= remaining else { throw fail("needs \(n) bytes at byte \(position), but the file ends at \(count)") }
        defer { position += n }
        return base + position
    }

    mutating func u32() throws -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }

    /// A u64-length-prefixed UTF-8 string.
    private mutating func string() throws -> String {
        let at = position
        let length = try u64()
        guard length <= UInt64(remaining) else {
            throw fail("string at byte \(at) declares \(length) bytes, but \(remaining) remain")
        }
        let start = try take(Int(length))
        guard let text = String(validating: UnsafeRawBufferPointer(start: start, count: Int(length)), as: UTF8.self) else {
            throw fail("string at byte \(at) is not valid UTF-8")
        }
        return text
    }

    /// The smallest number of bytes an element of value type `type` occupies (nil: unknown type).
    private static func minimumSize(_ type: UInt32) -> Int? {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 12
        default: return nil
        }
    }

    /// A metadata value of GGUF value type `type`.
    private mutating func value(type: UInt32, depth: Int) throws -> GGUFValue {
        let at = position
        switch type {
        case 0: return .unsigned(UInt64(try take(1).load(as: UInt8.self)), bits: 8)
        case 1: return .signed(Int64(try take(1).load(as: Int8.self)), bits: 8)
        case 2: return .unsigned(UInt64(UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self))), bits: 16)
        case 3: return .signed(Int64(Int16(littleEndian: try take(2).loadUnaligned(as: Int16.self))), bits: 16)
        case 4: return .unsigned(UInt64(try u32()), bits: 32)
        case 5: return .signed(Int64(Int32(bitPattern: try u32())), bits: 32)
        case 6: return .float(Double(Float(bitPattern: try u32())), bits: 32)
        case 7:
            let byte = try take(1).load(as: UInt8.self)
            guard byte <= 1 else { throw fail("BOOL at byte \(at) is \(byte), not 0 or 1") }
            return .bool(byte == 1)
        case 8: return .string(try string())
        case 10: return .unsigned(try u64(), bits: 64)
        case 11: return .signed(Int64(bitPattern: try u64()), bits: 64)
        case 12: return .float(Double(bitPattern: try u64()), bits: 64)
        case 9:
            guard depth < GGUFFile.maximumArrayDepth else {
                throw fail("array at byte \(at) is nested deeper than \(GGUFFile.maximumArrayDepth) levels")
            }
            let elementType = try u32(), length = try u64()
            guard let size = Self.minimumSize(elementType) else { throw fail("array at byte \(at) has unknown element type \(elementType)") }
            guard length <= UInt64(remaining / size) else {
                throw fail("array at byte \(at) declares \(length) \(GGUFValue.typeName(code: elementType)) elements, more than the \(remaining) remaining bytes can hold")
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(length))
            for _ in 0..<Int(length) { elements.append(try value(type: elementType, depth: depth + 1)) }
            return .array(elementType: elementType, elements)
        default:
            throw fail("metadata value at byte \(at) has unknown type \(type)")
        }
    }

    /// One tensor info: name, dimensions, type, offset.
    private mutating func tensorInfo(alignment: Int) throws -> GGUFTensorInfo {
        let at = position
        let name = try string()
        let rank = try u32()
        guard (1...4).contains(rank) else { throw fail("tensor '\(name)' at byte \(at) has \(rank) dimensions (1 to 4 are allowed)") }
        var dimensions: [Int] = [], elements = 1
        for _ in 0..<rank {
            let d = try u64()
            guard let dimension = Int(exactly: d) else { throw fail("tensor '\(name)' has dimension \(d), too large") }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= Int(Int32.max) * 1024 else { throw fail("tensor '\(name)' dimensions \(dimensions + [dimension]) overflow") }
            dimensions.append(dimension)
            elements = product
        }
        let code = try u32()
        guard let type = GGUFTensorType(rawValue: code) else {
            throw fail("tensor '\(name)' has ggml type \(GGUFTensorType.name(code: code)), which this reader does not convert")
        }
        guard dimensions[0] % type.blockSize == 0 else {
            throw fail("tensor '\(name)' rows of \(dimensions[0]) weights do not fill whole \(type) blocks of \(type.blockSize)")
        }
        let rawOffset = try u64()
        guard let offset = Int(exactly: rawOffset), offset % alignment == 0 else {
            throw fail("tensor '\(name)' data offset \(rawOffset) is not a multiple of the alignment \(alignment)")
        }
        return GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset)
    }
}
