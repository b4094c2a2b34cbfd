/// One tensor of a GGUF file: name, dimensions, ggml type and where its data lies.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name (`blk.0.attn_q.weight`).
    public let name: String
    /// Dimensions as GGUF stores them, contiguous first (`ne0, ne1, …`).
    public let dimensions: [Int]
    /// The ggml type of the data.
    public let type: GGUFTensorType
    /// Byte offset of the data from the start of the data section.
    public let offset: Int

    /// The row-major shape (`dimensions` reversed): `[ne1, ne0]` is PyTorch's `[out, in]` for a weight.
    public var shape: [Int] { dimensions.reversed() }
    /// Number of weights.
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Weights per row (`ne0`).
    public var rowWidth: Int { dimensions.first ?? 1 }
    /// Rows (the product of every dimension after the first).
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
    /// Bytes of one row.
    public var rowBytes: Int { rowWidth / type.blockSize * type.bytesPerBlock }
    /// Bytes of the whole tensor.
    public var byteCount: Int { rowCount * rowBytes }
}
