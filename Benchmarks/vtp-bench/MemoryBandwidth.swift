import Foundation
import VisionTokenPruning

/// The memory bandwidths a decode step is measured against, over 256 MiB (far beyond any last-level cache),
/// split over `ComputeOptions.current.threads`, best of several passes.
enum MemoryBandwidth {
    /// Floats in each buffer: 256 MiB.
    static let count = 64 << 20

    /// Bytes read plus bytes written per second by an array copy.
    static func copy(repetitions: Int) -> Double {
        let source = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let destination = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { source.deallocate(); destination.deallocate() }
        source.initialize(repeating: 1, count: count)
        destination.initialize(repeating: 0, count: count)
        nonisolated(unsafe) let (from, to) = (UnsafePointer(source), destination)
        let seconds = timeParts(repetitions: repetitions) { range in
            (to + range.lowerBound).update(from: from + range.lowerBound, count: range.count)
        }
        return Double(2 * count * 4) / seconds / 1e9
    }

    /// Bytes read per second by a streaming sum (four 16-lane accumulators, nothing written): the limit of a
    /// decode step, which reads every weight once and writes almost nothing. A copy understates it, since its
    /// writes share the memory bus.
    static func read(repetitions: Int) -> Double {
        let source = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { source.deallocate() }
        source.initialize(repeating: 1, count: count)
        nonisolated(unsafe) let from = UnsafeRawPointer(source)
        let seconds = timeParts(repetitions: repetitions) { range in
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var i = range.lowerBound
            while i + 64 <= range.upperBound {
                let p = from + i * 4
                a0 += p.loadUnaligned(as: SIMD16<Float>.self)
                a1 += p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                a2 += p.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                a3 += p.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                i += 64
            }
            // Checked, so the reads are not optimised away.
            precondition(((a0 + a1) + (a2 + a3)).sum().isFinite)
        }
        return Double(count * 4) / seconds / 1e9
    }

    /// Best wall time of `body` run on `threads` disjoint parts of `0..<count` at once (64-float aligned).
    private static func timeParts(repetitions: Int, _ body: @escaping @Sendable (Range<Int>) -> Void) -> Double {
        let threads = ComputeOptions.current.threads
        return Stopwatch.best(repetitions: max(3, repetitions)) {
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                let start = count / 64 / threads * part * 64
                let end = part == threads - 1 ? count : count / 64 / threads * (part + 1) * 64
                body(start..<end)
            }
        }.wallSeconds
    }
}
