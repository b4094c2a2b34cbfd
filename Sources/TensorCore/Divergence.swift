import Foundation

/// Log-probabilities and Kullback-Leibler divergence of next-token distributions given as logits.
public enum Divergence {
    /// log softmax(logits), computed in Double for accuracy.
    /// - Throws: `TensorError.nonFinite` for a NaN or infinite logit, `.invalidArgument` when empty.
    public static func logSoftmax(_ logits: [Float]) throws -> [Double] {
        guard !logits.isEmpty else {
            throw TensorError.invalidArgument(operation: "logSoftmax", reason: "empty logits")
        }
        if let bad = logits.firstIndex(where: { !$0.isFinite }) {
            throw TensorError.nonFinite(operation: "logSoftmax", index: bad)
        }
        let m = Double(logits.max()!)
        let logSum = log(logits.reduce(0.0) { $0 + exp(Double($1) - m) }) + m
        return logits.map { Double($0) - logSum }
    }

    /// KL(P ‖ Q) = Σ p (log p − log q) in nats, where P = softmax(`p`) and Q = softmax(`q`).
    /// - Throws: `TensorError.countMismatch` when the vocabularies differ, or a `logSoftmax` error.
    public static func kl(p: [Float], q: [Float]) throws -> Double {
        guard p.count == q.count else {
            throw TensorError.countMismatch(operation: "kl", expected: p.count, actual: q.count)
        }
        let lp = try logSoftmax(p), lq = try logSoftmax(q)
        var total = 0.0
        for i in lp.indices { total += exp(lp[i]) * (lp[i] - lq[i]) }
        return max(0, total)
    }
}
