import Foundation

/// Wall-clock and process CPU time of a measured block.
struct Timing {
    var wallSeconds: Double
    var cpuSeconds: Double
    /// CPU time over wall time: ~threads when the machine gave us every core, less when it was busy.
    var cpuPerWall: Double { wallSeconds > 0 ? cpuSeconds / wallSeconds : 0 }
}

enum Stopwatch {
    static func wallNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func cpuNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Times `body` once.
    static func time(_ body: () throws -> Void) rethrows -> Timing {
        let w0 = wallNow(), c0 = cpuNow()
        try body()
        return Timing(wallSeconds: wallNow() - w0, cpuSeconds: cpuNow() - c0)
    }

    /// The fastest of `repetitions` runs (after one warm-up run).
    static func best(repetitions: Int, _ body: () throws -> Void) rethrows -> Timing {
        try body()
        var best: Timing?
        for _ in 0..<max(1, repetitions) {
            let t = try time(body)
            if best == nil || t.wallSeconds < best!.wallSeconds { best = t }
        }
        return best!
    }
}

/// Progress lines on standard error, so standard output stays a clean table or JSON object.
enum Progress {
    static func say(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
