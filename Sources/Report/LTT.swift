import Foundation

// Learn then Test (Angelopoulos, Bates, Candès, Jordan, Lei 2021) with fixed-sequence testing.
// Each theta of the grid is a null hypothesis H_theta: "the risk at theta exceeds alpha". The
// grid is tested from the most to the least conservative theta; H is rejected when its p-value
// is <= delta, and testing stops at the first hypothesis not rejected. Fixed-sequence testing
// controls the family-wise error at delta, so with probability >= 1 - delta (over the draw of
// the calibration set) every rejected theta truly has risk <= alpha.
//
// The risks here are means of 0/1 losses, so the p-value is the exact binomial tail:
// p = P(Binomial(n, alpha) <= k) for k losses among n calibration inputs (valid for any
// Bernoulli losses; it is the Bentkus bound without its factor e, i.e. exact).

public enum LTT {
    /// P(Binomial(n, p) <= k), computed in log space (exact up to floating point).
    public static func binomialCDF(_ k: Int, n: Int, p: Double) -> Double {
        if k < 0 { return 0 }
        if k >= n { return 1 }
        if p <= 0 { return 1 }
        if p >= 1 { return 0 }
        let lp = log(p), lq = log1p(-p)
        func lgam(_ x: Double) -> Double { Foundation.lgamma(x) }
        let lnN = lgam(Double(n + 1))
        var terms = [Double]()
        terms.reserveCapacity(k + 1)
        for j in 0...k {
            terms.append(lnN - lgam(Double(j + 1)) - lgam(Double(n - j + 1)) + Double(j) * lp + Double(n - j) * lq)
        }
        let m = terms.max()!
        let s = terms.reduce(0.0) { $0 + exp($1 - m) }
        return min(1, exp(m) * s)
    }

    /// The p-value of H: "mean loss > alpha" after observing `losses` among `n` inputs.
    public static func pValue(losses: Int, n: Int, alpha: Double) -> Double {
        guard n > 0 else { return 1 }
        return binomialCDF(losses, n: n, p: alpha)
    }

    /// Fixed-sequence testing: indices of `order` (most conservative first) whose hypothesis is
    /// rejected, i.e. the longest prefix with p-value <= delta.
    public static func fixedSequence(order: [Int], pValue: (Int) -> Double, delta: Double) -> [Int] {
        var rejected = [Int]()
        for i in order {
            guard pValue(i) <= delta else { break }
            rejected.append(i)
        }
        return rejected
    }
}
