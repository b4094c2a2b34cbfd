/// How Qwen2.5-VL's vision tower tiles an image's merged grid into attention windows
/// (`get_window_index`): windows of `windowUnits` x `windowUnits` merge units in raster order, partial at the
/// right and bottom edges, units row-major inside each window.
public struct VisionWindowPartition: Sendable, Equatable {
    /// Merge-unit rows and columns of the image (gh / merge, gw / merge).
    public let unitRows: Int, unitColumns: Int
    /// Units per window side.
    public let windowUnits: Int
    /// The units in window order: entry r is the raster index of the r-th unit (transformers' `window_index`).
    public let windowIndex: [Int]
    /// Units in each non-empty window, in window order.
    public let windowSizes: [Int]

    /// The partition of a `unitRows` x `unitColumns` grid into windows of `windowUnits` units a side.
    public init(unitRows: Int, unitColumns: Int, windowUnits: Int) {
        self.unitRows = unitRows
        self.unitColumns = unitColumns
        self.windowUnits = windowUnits
        var index: [Int] = [], sizes: [Int] = []
        let side = max(1, windowUnits)
        for top in stride(from: 0, to: unitRows, by: side) {
            for left in stride(from: 0, to: unitColumns, by: side) {
                let before = index.count
                for r in top..<min(top + side, unitRows) {
                    for c in left..<min(left + side, unitColumns) { index.append(r * unitColumns + c) }
                }
                if index.count > before { sizes.append(index.count - before) }
            }
        }
        windowIndex = index
        windowSizes = sizes
    }

    /// Cumulative window lengths in patches, starting at 0 (`cu_window_seqlens` with its repeats removed), for
    /// `patchesPerUnit` patches per unit.
    public func cumulativePatchLengths(patchesPerUnit: Int) -> [Int] {
        windowSizes.reduce(into: [0]) { $0.append($0.last! + $1 * patchesPerUnit) }
    }

    /// For each unit's raster index, its position in window order (`argsort(window_index)`).
    public var rasterToWindow: [Int] {
        var inverse = [Int](repeating: 0, count: windowIndex.count)
        for (position, unit) in windowIndex.enumerated() { inverse[unit] = position }
        return inverse
    }
}
