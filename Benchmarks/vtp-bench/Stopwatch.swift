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

/// Progress over a known number of steps, with an estimate of the time left from the steps done so far.
/// When the same cases repeat every `period` steps (alternated repetitions), a step that already ran is
/// expected to take as long as it did last time; other steps take the mean so far.
struct ProgressClock {
    let total: Int
    let label: String
    let period: Int?
    /// Wall-clock start of each announced step.
    private var starts: [Double] = []

    init(total: Int, label: String, period: Int? = nil) {
        self.total = total
        self.label = label
        self.period = period
    }

    /// Announces step `done + 1` of `total` (`what` names it; steps are announced in order) with the
    /// estimated time left.
    mutating func step(_ done: Int, _ what: String) {
        starts.append(Stopwatch.wallNow())
        let left = Self.secondsLeft(durations: zip(starts, starts.dropFirst()).map { $1 - $0 }, total: total, period: period)
        Progress.say("\(label) [\(done + 1)/\(total)] \(what)" + (left.map { String(format: " (about %.0f s left)", $0) } ?? ""))
    }

    /// Seconds the steps after the `durations.count` finished ones will take, nil before any finished.
    static func secondsLeft(durations: [Double], total: Int, period: Int?) -> Double? {
        guard !durations.isEmpty else { return nil }
        let mean = durations.reduce(0, +) / Double(durations.count)
        return (durations.count..<max(durations.count, total)).reduce(0.0) { sum, step in
            guard let period else { return sum + mean }
            // The latest finished run of the same case, if any.
            var same = step - period
            while same >= durations.count { same -= period }
            return sum + (same >= 0 ? durations[same] : mean)
        }
    }
}

/// Peak resident memory of this process.
enum MemoryUsage {
    /// Resets the kernel's peak-RSS mark (Linux `clear_refs` 5), so that a later `peakResidentBytes` covers
    /// only what follows; a no-op where unsupported (the peak then covers the whole process).
    static func resetPeak() {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            try? handle.write(contentsOf: Data("5".utf8))
            try? handle.close()
        }
    }

    /// Peak resident set size in bytes since the start or the last `resetPeak` (`VmHWM`, else getrusage).
    static func peakResidentBytes() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
            return kb * 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }
}
