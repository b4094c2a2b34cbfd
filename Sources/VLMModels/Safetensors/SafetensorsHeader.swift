import Foundation

/// The parsed and validated header of a safetensors file.
struct SafetensorsHeader {
    /// Largest header the reference reader accepts.
    static let maximumHeaderBytes = 100_000_000

    var tensors: [String: SafetensorsTensorInfo]
    /// Names in data order.
    var orderedNames: [String]
    var metadata: [String: String]
    /// Offset of the data section from the start of the file (8 + header length).
    var dataStart: Int

    /// Parses and checks the header of a `fileSize`-byte file starting at `bytes`, as the reference reader does:
    /// the header fits in the file, is a JSON object, every dtype is known, every byte range matches its
    /// shape, and the ranges tile the data section with no hole or overlap.
    /// - Throws: `ModelError.malformedSafetensors` naming the first problem.
    static func parse(_ bytes: UnsafeRawPointer, fileSize: Int, path: String) throws -> SafetensorsHeader {
        func fail(_ reason: String) -> ModelError { .malformedSafetensors(path: path, reason: reason) }
        guard fileSize >= 8 else { throw fail("file is \(fileSize) bytes, shorter than the 8-byte header length") }
        let declared = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64(maximumHeaderBytes) else {
            throw fail("header length \(declared) exceeds the limit of \(maximumHeaderBytes) bytes")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= fileSize else {
            throw fail("header length \(headerLength) is larger than the file (\(fileSize) bytes)")
        }
        let root: JSONValue
        do { root = try JSONValue.parse(Data(bytes: bytes + 8, count: headerLength)) } catch {
            throw fail("header is not valid JSON (\(error))")
        }
        guard let entries = root.members else { throw fail("header is not a JSON object") }
        if let key = root.firstDuplicateKey { throw fail("key '\(key)' appears more than once in the header") }
        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for entry in entries {
            let name = String(decoding: entry.key, as: UTF8.self)
            if name == "__metadata__" {
                guard let map = entry.value.members else { throw fail("__metadata__ is not an object") }
                for member in map {
                    let key = String(decoding: member.key, as: UTF8.self)
                    guard let s = member.value.string else { throw fail("__metadata__ value for '\(key)' is not a string") }
                    metadata[key] = s
                }
                continue
            }
            guard tensors[name] == nil else { throw fail("two tensor names are the same text '\(name)' (canonically equivalent)") }
            tensors[name] = try parseEntry(name, entry.value, fail)
        }
        let dataSize = fileSize - 8 - headerLength
        let ordered = tensors.values.sorted {
            ($0.dataRange.lowerBound, $0.dataRange.upperBound, $0.name) < ($1.dataRange.lowerBound, $1.dataRange.upperBound, $1.name)
        }
        var expectedStart = 0
        for info in ordered {
            guard info.dataRange.lowerBound == expectedStart else {
                throw fail(info.dataRange.lowerBound < expectedStart
                    ? "tensor '\(info.name)' overlaps the previous tensor (offset \(info.dataRange.lowerBound) < \(expectedStart))"
                    : "hole before tensor '\(info.name)' (offset \(info.dataRange.lowerBound), expected \(expectedStart))")
            }
            expectedStart = info.dataRange.upperBound
        }
        guard expectedStart == dataSize else {
            throw fail("tensor data ends at byte \(expectedStart) but the data section holds \(dataSize) bytes")
        }
        return SafetensorsHeader(tensors: tensors, orderedNames: ordered.map(\.name), metadata: metadata,
                                 dataStart: 8 + headerLength)
    }

    private static func parseEntry(
        _ name: String, _ entry: JSONValue, _ fail: (String) -> ModelError
    ) throws -> SafetensorsTensorInfo {
        guard entry.members != nil else { throw fail("entry '\(name)' is not an object") }
        guard let dtypeName = entry["dtype"]?.string else { throw fail("tensor '\(name)' has no dtype string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail("tensor '\(name)' has unknown dtype '\(dtypeName)'")
        }
        guard let shape = integers(entry["shape"]) else {
            throw fail("tensor '\(name)' has no shape made of non-negative integers")
        }
        guard let offsets = integers(entry["data_offsets"]), offsets.count == 2, offsets[0] <= offsets[1] else {
            throw fail("tensor '\(name)' has data_offsets that are not [begin, end] with begin <= end")
        }
        var elements = 1
        for d in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("tensor '\(name)' shape \(shape) overflows") }
            elements = product
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == offsets[1] - offsets[0] else {
            throw fail("tensor '\(name)' spans \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(bytes))")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
    }

    /// The array's values as non-negative `Int`s, or nil unless it is an array of integers written as such
    /// (`2.0`, `true` or `"2"` are not dimensions) below 2^53.
    private static func integers(_ value: JSONValue?) -> [Int]? {
        guard let elements = value?.array else { return nil }
        var result: [Int] = []
        for element in elements {
            guard let i = element.integer, i >= 0, i < 1 << 53 else { return nil }
            result.append(i)
        }
        return result
    }
}
