import Foundation
import Tensors

/// The procedural painter behind `SyntheticCIFAR`: ten classes, each a distinct shape +
/// texture + colour palette, drawn at 32×32 over a graded background with clutter and noise.
///
/// Easy examples are prototypical: centred, full size (radius ≈ 11 px), nearly upright, in the
/// class palette, high contrast, little clutter and noise. A linear read-out of early, local
/// features (or even a nearest-class-mean on raw pixels) gets most of them right.
/// Hard examples are small (radius 6–9 px), anywhere in the frame, freely rotated and among
/// smaller clutter drawn in the class palettes' colours, always in the palette of the confusable
/// partner class (airplane↔ship, automobile↔truck, bird↔frog, cat↔dog, deer↔horse; sometimes on a
/// random background). Only the largest shape's own shape and texture (and its partner colours)
/// identify the class: the object must first be told from same-coloured clutter by its size,
/// wherever it is and however turned, which needs translation- and rotation-invariant (deeper)
/// features. Hard examples stay unambiguous: the object is whole (never occluded), at
/// full contrast, the largest shape in the frame, under mild noise, so depth can answer every one
/// of them and what separates a deep from a shallow read-out is depth, not luck.
enum SyntheticPainter {
    typealias RGB = (Float, Float, Float)

    enum Shape: CaseIterable {
        case cross, square, triangle, ring, diamond, disc, blob, ellipse, hull, wideRect

        /// Membership in shape-local coordinates (radius ≈ 1, v grows downwards).
        @inline(__always) func contains(_ u: Float, _ v: Float) -> Bool {
            switch self {
            case .cross: return (abs(u) < 0.28 && abs(v) < 0.95) || (abs(v) < 0.28 && abs(u) < 0.95)
            case .square: return abs(u) < 0.8 && abs(v) < 0.8
            case .triangle: return v <= 0.8 && v >= -0.95 && abs(u) <= (v + 0.95) * 0.56
            case .ring: let r2 = u * u + v * v; return r2 < 1 && r2 > 0.3
            case .diamond: return abs(u) + abs(v) < 1.05
            case .disc: return u * u + v * v < 0.85
            case .blob:
                let a = (u + 0.35) * (u + 0.35) + (v - 0.1) * (v - 0.1)
                let b = (u - 0.35) * (u - 0.35) + (v + 0.2) * (v + 0.2)
                return a < 0.42 || b < 0.36
            case .ellipse: return u * u + (v * v) / 0.36 < 1
            case .hull:
                let body = v >= 0 && u * u + (v * v) / 0.36 < 1
                let cabin = abs(u) < 0.3 && v > -0.45 && v < 0
                return body || cabin
            case .wideRect: return abs(u) < 1 && abs(v) < 0.5
            }
        }
    }

    enum Texture { case solid, diagonalStripes, horizontalStripes, dots, checker, gradient }

    /// A class's look: shape, texture, two foreground colours, the background, and the
    /// confusable partner class whose colours its hard images wear.
    struct Style { var shape: Shape, texture: Texture, fg: RGB, fg2: RGB, bg: RGB, partner: Int }

    /// Label order follows the CIFAR-10 class names; confusable partners mirror CIFAR's pairs.
    static let styles: [Style] = [
        Style(shape: .cross, texture: .solid, fg: (235, 235, 240), fg2: (235, 235, 240), bg: (110, 160, 225), partner: 8),
        Style(shape: .square, texture: .solid, fg: (205, 35, 35), fg2: (205, 35, 35), bg: (105, 105, 110), partner: 9),
        Style(shape: .triangle, texture: .solid, fg: (245, 205, 40), fg2: (245, 205, 40), bg: (150, 200, 210), partner: 6),
        Style(shape: .ring, texture: .solid, fg: (235, 135, 45), fg2: (235, 135, 45), bg: (55, 45, 65), partner: 5),
        Style(shape: .diamond, texture: .diagonalStripes, fg: (175, 115, 55), fg2: (90, 55, 25), bg: (70, 120, 55), partner: 7),
        Style(shape: .disc, texture: .dots, fg: (210, 180, 130), fg2: (100, 70, 40), bg: (150, 70, 80), partner: 3),
        Style(shape: .blob, texture: .checker, fg: (70, 200, 70), fg2: (25, 105, 30), bg: (135, 105, 70), partner: 2),
        Style(shape: .ellipse, texture: .gradient, fg: (150, 85, 40), fg2: (50, 25, 10), bg: (195, 210, 135), partner: 4),
        Style(shape: .hull, texture: .solid, fg: (45, 45, 70), fg2: (45, 45, 70), bg: (35, 85, 175), partner: 0),
        Style(shape: .wideRect, texture: .horizontalStripes, fg: (45, 95, 205), fg2: (225, 225, 225), bg: (155, 145, 120), partner: 1),
    ]

    @inline(__always) static func mix(_ a: RGB, _ b: RGB, _ t: Float) -> RGB {
        (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, a.2 + (b.2 - a.2) * t)
    }

    @inline(__always) static func fract(_ x: Float) -> Float { x - x.rounded(.down) }

    @inline(__always) static func textureColor(_ t: Texture, _ fg: RGB, _ fg2: RGB, _ u: Float, _ v: Float) -> RGB {
        switch t {
        case .solid: return mix(fg, (255, 255, 255), max(0, -0.12 * (u + v))) // faint highlight
        case .diagonalStripes: return fract((u + v) * 1.6) < 0.5 ? fg : fg2
        case .horizontalStripes: return fract(v * 2.4 + 0.25) < 0.5 ? fg : fg2
        case .dots:
            let a = fract(u * 2) - 0.5, b = fract(v * 2) - 0.5
            return a * a + b * b < 0.07 ? fg2 : fg
        case .checker:
            let k = Int((u * 2.5 + 10).rounded(.down)) + Int((v * 2.5 + 10).rounded(.down))
            return k & 1 == 0 ? fg : fg2
        case .gradient: return mix(fg, fg2, min(1, max(0, (u + 1) * 0.5)))
        }
    }

    @inline(__always) static func uniform(_ g: inout SeededGenerator, _ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * g.nextFloat()
    }

    static func jitter(_ c: RGB, _ amount: Float, _ g: inout SeededGenerator) -> RGB {
        (c.0 + uniform(&g, -amount, amount), c.1 + uniform(&g, -amount, amount), c.2 + uniform(&g, -amount, amount))
    }

    static func randomColor(_ g: inout SeededGenerator) -> RGB {
        (uniform(&g, 20, 235), uniform(&g, 20, 235), uniform(&g, 20, 235))
    }

    /// One of the two foreground colours of a random class (the clutter of hard images).
    static func paletteColor(_ g: inout SeededGenerator) -> RGB {
        let style = styles[g.nextInt(below: styles.count)]
        return g.nextFloat() < 0.5 ? style.fg : style.fg2
    }

    /// Where and how the object is drawn, and in whose colours.
    struct Layout {
        var radius: Float, cx: Float, cy: Float, angle: Float
        var look: Style
        var clutter: Int, clutterAlpha: Float, noise: Float
    }

    /// Easy: the class's own look, centred and full size. Hard: small, anywhere, freely rotated,
    /// among clutter, in the colours of the confusable partner class (own shape and texture).
    static func layout(label: Int, hard: Bool, g: inout SeededGenerator) -> Layout {
        guard hard else {
            return Layout(radius: 11 * uniform(&g, 0.95, 1.05), cx: 16 + uniform(&g, -1, 1), cy: 16 + uniform(&g, -1, 1),
                          angle: uniform(&g, -0.15, 0.15), look: styles[label],
                          clutter: g.nextInt(below: 2), clutterAlpha: 0.3, noise: 6)
        }
        let radius = 11 * uniform(&g, 0.55, 0.8)
        let cx = uniform(&g, radius, 32 - radius), cy = uniform(&g, radius, 32 - radius)
        let angle = uniform(&g, 0, 2 * .pi)
        // Always the confusable partner's colours: colour, the cue early features read, points
        // to the wrong class; only the shape and texture (recognised anywhere) answer.
        var look = styles[label]
        let p = styles[look.partner]
        look.fg = p.fg; look.fg2 = p.fg2; look.bg = p.bg
        if g.nextFloat() < 0.3 { look.bg = styles[g.nextInt(below: 10)].bg }
        return Layout(radius: radius, cx: cx, cy: cy, angle: angle, look: look,
                      clutter: 3 + g.nextInt(below: 4), clutterAlpha: 1, noise: uniform(&g, 8, 14))
    }

    /// Paints `shape` (centre, radius, angle) over the canvas: `samples` 1 (hard edges) or 4 (2×2
    /// supersampled coverage), colour `color(u, v)` at the pixel centre, blended by coverage·alpha.
    static func draw(_ canvas: UnsafeMutablePointer<Float>, shape: Shape, cx: Float, cy: Float, radius: Float,
                     angle: Float, samples: Int, alpha: Float, color: (Float, Float) -> RGB) {
        let (c, s) = (cos(angle), sin(angle))
        let reach = radius * 1.45, inv = 1 / radius
        // Clutter (1 sample) divides by the radius, the object multiplies by its inverse, as the
        // two painters this function replaces did: the images stay bit-identical to theirs.
        func local(_ d: Float) -> Float { samples == 1 ? d / radius : d * inv }
        let y0 = max(0, Int(cy - reach)), y1 = min(31, Int(cy + reach))
        let x0 = max(0, Int(cx - reach)), x1 = min(31, Int(cx + reach))
        if y0 > y1 || x0 > x1 { return }
        for y in y0...y1 {
            for x in x0...x1 {
                var covered = 0
                for q in 0..<samples {
                    let ox: Float = samples == 1 ? 0.5 : (q & 1 == 0 ? 0.25 : 0.75)
                    let oy: Float = samples == 1 ? 0.5 : (q < 2 ? 0.25 : 0.75)
                    let dx = Float(x) + ox - cx, dy = Float(y) + oy - cy
                    if shape.contains(local(c * dx + s * dy), local(-s * dx + c * dy)) { covered += 1 }
                }
                if covered == 0 { continue }
                let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                let col = color((c * dx + s * dy) * inv, (-s * dx + c * dy) * inv)
                let a = alpha * Float(covered) / Float(samples), k = y * 32 + x
                canvas[k] += (col.0 - canvas[k]) * a
                canvas[1024 + k] += (col.1 - canvas[1024 + k]) * a
                canvas[2048 + k] += (col.2 - canvas[2048 + k]) * a
            }
        }
    }

    /// Background: the colour with vertical shading plus a soft horizontal wave.
    static func fillBackground(_ canvas: UnsafeMutablePointer<Float>, _ bg: RGB, g: inout SeededGenerator) {
        let shade = uniform(&g, 0.15, 0.35), phase = uniform(&g, 0, 6.28)
        for y in 0..<32 {
            let fy = 1 - shade * 0.5 + shade * Float(y) / 31
            for x in 0..<32 {
                let f = fy + 0.05 * sin(Float(x) * 0.35 + phase)
                let k = y * 32 + x
                canvas[k] = bg.0 * f
                canvas[1024 + k] = bg.1 * f
                canvas[2048 + k] = bg.2 * f
            }
        }
    }

    /// Noise (triangular, ±noise) and quantisation: four 16-bit uniforms per 64-bit draw.
    static func quantise(_ canvas: UnsafeMutablePointer<Float>, noise: Float, g: inout SeededGenerator,
                         out: UnsafeMutablePointer<UInt8>) {
        var k = 0
        while k < 3072 {
            let r = g.next()
            let a = Float(r & 0xFFFF) + Float((r >> 16) & 0xFFFF)
            let b = Float((r >> 32) & 0xFFFF) + Float(r >> 48)
            let na = (a / 65535 - 1) * noise, nb = (b / 65535 - 1) * noise
            out[k] = UInt8(max(0, min(255, canvas[k] + na)).rounded())
            out[k + 1] = UInt8(max(0, min(255, canvas[k + 1] + nb)).rounded())
            k += 2
        }
    }

    /// Draws one image of class `label` into `out` (3,072 bytes, CHW), using `canvas` (3,072
    /// floats) as scratch. Everything random comes from `g`.
    static func paint(label: Int, hard: Bool, g: inout SeededGenerator,
                      canvas: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<UInt8>) {
        let l = layout(label: label, hard: hard, g: &g)
        let fg = jitter(l.look.fg, 12, &g), fg2 = jitter(l.look.fg2, 12, &g)
        fillBackground(canvas, jitter(l.look.bg, 15, &g), g: &g)
        // Clutter: small shapes of any kind, under the object. Easy images: radius 1.5-3 px, any
        // colour. Hard images: radius 1.5-4 px (still well below the object's 6-9) in a colour of
        // some class's palette, so that colour summed over the frame no longer names the object:
        // the object must be told from the clutter by its size first.
        for _ in 0..<l.clutter {
            let shape = Shape.allCases[g.nextInt(below: Shape.allCases.count)]
            let cx = uniform(&g, 0, 32), cy = uniform(&g, 0, 32)
            let radius = uniform(&g, 1.5, hard ? 4 : 3), angle = uniform(&g, 0, 6.28)
            let color = hard ? paletteColor(&g) : randomColor(&g)
            draw(canvas, shape: shape, cx: cx, cy: cy, radius: radius, angle: angle, samples: 1,
                 alpha: l.clutterAlpha) { _, _ in color }
        }
        // The object: the class's shape in the layout's look, 2×2 supersampled.
        let texture = l.look.texture
        draw(canvas, shape: styles[label].shape, cx: l.cx, cy: l.cy, radius: l.radius, angle: l.angle,
             samples: 4, alpha: 1) { u, v in textureColor(texture, fg, fg2, u, v) }
        quantise(canvas, noise: l.noise, g: &g, out: out)
    }
}
