/// A BPE vocabulary and merge list (tokenizer.json `model` of type "BPE"), applied one merge at a time: the
/// adjacent pair with the lowest merge rank (leftmost among equals) is merged until none is left, as the
/// `tokenizers` library does (a priority queue, O(n log n) per word).
struct BytePairModel: Sendable {
    /// Token id by the token's UTF-8 bytes (exact bytes: canonically equivalent tokens stay distinct).
    let ids: [[UInt8]: Int]
    /// Per merge (left id, right id): its rank and the id of the merged token.
    let merges: [MergePair: (rank: Int, merged: Int)]
    /// Unknown-token id, if the model has one.
    let unknownId: Int?
    /// Whether characters outside the vocabulary become `<0xHH>` byte tokens.
    let byteFallback: Bool
    /// Whether consecutive unknowns become one unknown token.
    let fuseUnknown: Bool
    /// `<0xHH>` token ids, when byte fallback is on and all 256 exist.
    let byteTokenIds: [Int]?
    /// Bytes appended to a word's last character before it is looked up (CLIP's `</w>`), nil for none.
    let endOfWordSuffix: [UInt8]?

    struct MergePair: Hashable, Sendable {
        let left: Int
        let right: Int
    }

    init(ids: [[UInt8]: Int], mergeList: [([UInt8], [UInt8])], unknownId: Int?, byteFallback: Bool, fuseUnknown: Bool,
         endOfWordSuffix: [UInt8]? = nil) {
        self.endOfWordSuffix = endOfWordSuffix
        self.ids = ids
        var merges: [MergePair: (rank: Int, merged: Int)] = [:]
        for (rank, (a, b)) in mergeList.enumerated() {
            guard let left = ids[a], let right = ids[b], let merged = ids[a + b] else { continue }
            let key = MergePair(left: left, right: right)
            if merges[key] == nil { merges[key] = (rank, merged) }
        }
        self.merges = merges
        self.unknownId = unknownId
        self.byteFallback = byteFallback
        self.fuseUnknown = fuseUnknown
        let byteIds = (0..<256).compactMap { ids[Array(String(format: "<0x%02X>", $0).utf8)] }
        byteTokenIds = byteFallback && byteIds.count == 256 ? byteIds : nil
    }

    /// The token ids of one word (a sequence of characters).
    /// - Throws: `TokenizerError.unknownCharacter` when a character is outside the vocabulary and the model
    ///   has neither byte fallback nor an unknown token.
    func encode(_ word: some Collection<Unicode.Scalar>, into out: inout [Int]) throws {
        var symbols: [Int] = []
        symbols.reserveCapacity(word.count)
        var lastWasUnknown = false
        let last = word.count - 1
        for (k, scalar) in word.enumerated() {
            var bytes = Array(String(scalar).utf8)
            if let suffix = endOfWordSuffix, k == last { bytes += suffix }
            if let id = ids[bytes] {
                symbols.append(id)
                lastWasUnknown = false
            } else if let byteIds = byteTokenIds {
                symbols.append(contentsOf: bytes.map { byteIds[Int($0)] })
                lastWasUnknown = false
            } else if let unknownId {
                if !(fuseUnknown && lastWasUnknown) { symbols.append(unknownId) }
                lastWasUnknown = true
            } else {
                throw TokenizerError.unknownCharacter(scalar)
            }
        }
        out.append(contentsOf: merge(symbols))
    }

    /// Applies the merges to `symbols` one at a time, lowest rank first, leftmost among equal ranks.
    private func merge(_ symbols: [Int]) -> [Int] {
        guard symbols.count > 1 else { return symbols }
        var id = symbols
        var next = Array(1...symbols.count), previous = Array(-1..<(symbols.count - 1))
        var alive = [Bool](repeating: true, count: symbols.count)
        var queue = MergeQueue()
        for i in 0..<(symbols.count - 1) {
            if let m = merges[MergePair(left: id[i], right: id[i + 1])] { queue.push(.init(rank: m.rank, position: i, left: id[i], right: id[i + 1])) }
        }
        while let candidate = queue.pop() {
            let i = candidate.position
            guard alive[i], id[i] == candidate.left, next[i] < id.count, alive[next[i]], id[next[i]] == candidate.right,
                  let m = merges[MergePair(left: candidate.left, right: candidate.right)] else { continue }
            let j = next[i]
            id[i] = m.merged
            alive[j] = false
            next[i] = next[j]
            if next[i] < id.count { previous[next[i]] = i }
            if previous[i] >= 0, let before = merges[MergePair(left: id[previous[i]], right: id[i])] {
                queue.push(.init(rank: before.rank, position: previous[i], left: id[previous[i]], right: id[i]))
            }
            if next[i] < id.count, let after = merges[MergePair(left: id[i], right: id[next[i]])] {
                queue.push(.init(rank: after.rank, position: i, left: id[i], right: id[next[i]]))
            }
        }
        return id.indices.filter { alive[$0] }.map { id[$0] }
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
struct MergeQueue {
    struct Candidate {
        let rank: Int
        let position: Int
        let left: Int
        let right: Int
        func precedes(_ other: Candidate) -> Bool { rank != other.rank ? rank < other.rank : position < other.position }
    }

    private var heap: [Candidate] = []

    mutating func push(_ c: Candidate) {
        heap.append(c)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count, heap[l].precedes(heap[best]) { best = l }
                if r < heap.count, heap[r].precedes(heap[best]) { best = r }
                guard best != i else { break }
                heap.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
