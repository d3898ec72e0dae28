/// The tile geometry Winograd F(2x2, 3x3) and F(4x4, 3x3) share: `tile` x `tile` output tiles
/// (th x tw of them) over an h x w image, whose (tile + 2)-square input patches are read from a
/// zero-padded copy of each input channel (1 zero row/column before, enough after for the last
/// patch), followed in the scratch by tile + 2 rows of Bᵀ d.
protocol WinogradTiling {
    static var tile: Int { get }
    var h: Int { get }
    var w: Int { get }
    var th: Int { get }
    var tw: Int { get }
}

extension WinogradTiling {
    static func tiles(_ n: Int) -> Int { (n + tile - 1) / tile }
    var perImage: Int { th * tw }
    var padW: Int { Self.tile * tw + 2 }
    var padSize: Int { (Self.tile * th + 2) * padW }
    /// Scratch per image for `transformInput`: the padded plane and tile + 2 rows of Bᵀ d.
    var scratchSize: Int { padSize + (Self.tile + 2) * padW }

    /// For each input channel ci of image j of x [·, C, H, W]: copies it into the padded plane at
    /// `pad` (its zero border written once) and calls `body` with V + ci·ld + j·T, the channel's
    /// first output column in V[ξ, c, j·T + t] (row stride `ld`).
    @inline(__always)
    func forEachPaddedChannel(_ x: UnsafePointer<Float>, c: Int, image j: Int, _ v: UnsafeMutablePointer<Float>,
                              ld: Int, pad: UnsafeMutablePointer<Float>,
                              _ body: (_ out: UnsafeMutablePointer<Float>) -> Void) {
        let pw = padW, plane = h * w
        pad.update(repeating: 0, count: padSize)
        for ci in 0..<c {
            let src = x + (j * c + ci) * plane
            for y in 0..<h { (pad + (y + 1) * pw + 1).update(from: src + y * w, count: w) }
            body(v + ci * ld + j * perImage)
        }
    }
}
