import Dispatch
import TensorCore

extension PruningPipeline {
    /// Runs every request and returns the results in order; each result equals what `run` gives for that
    /// request alone. Requests run side by side on the current `ComputeOptions` threads (each request gets
    /// an equal share), which keeps small per-request kernels busy without padding prompts to one length.
    /// - Throws: the first request's error, if any fails (the others still run to completion).
    public func run(batch: [ImagePrompt], maxNewTokens: Int = 0) throws -> [PipelineResult] {
        let options = ComputeOptions.current
        let lanes = max(1, min(batch.count, options.threads))
        let inner = options.withThreads(max(1, options.threads / lanes))
        let slots = UnsafeMutableBufferPointer<Result<PipelineResult, any Error>?>.allocate(capacity: batch.count)
        slots.initialize(repeating: nil)
        defer {
            slots.deinitialize()
            slots.deallocate()
        }
        let shared = UncheckedResults(slots: slots)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            var i = lane
            while i < batch.count {
                // Each slot is written by exactly one worker.
                shared.slots[i] = Result {
                    try ComputeOptions.$current.withValue(inner) {
                        try run(image: batch[i].image, tokenIds: batch[i].tokenIds, maxNewTokens: maxNewTokens)
                    }
                }
                i += lanes
            }
        }
        return try slots.map { try $0!.get() }
    }
}

/// Result slots shared by the batch workers; each index is written by one worker only.
private struct UncheckedResults: @unchecked Sendable {
    let slots: UnsafeMutableBufferPointer<Result<PipelineResult, any Error>?>
}
