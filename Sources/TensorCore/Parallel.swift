import Dispatch

/// Wraps a value whose cross-thread use the kernel code guarantees to be safe (disjoint writes).
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Fork-join parallel loops over index ranges.
enum Parallel {
    /// Runs `body(i)` for every `i` in `0..<count` on at most `threads` workers; returns when all are done.
    /// Indices are dealt round-robin, so equal-cost items spread evenly.
    static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        if workers <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < count {
                    box.value(i)
                    i += workers
                }
            }
        }
    }
}
