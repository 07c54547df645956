import Foundation
import Modelling
import Testing

/// The BG/NBD fit against the `lifetimes` package (`Fixtures/make_bgnbd_reference.py`): the CDNOW data
/// of Fader, Hardie & Lee (2005), whose published fit is r 0.243, α 4.414, a 0.793, b 2.426, and a draw
/// from the model in whole days.
@Suite("BG/NBD repeat-visit model")
struct BetaGeometricNBDTests {
  struct Case: Decodable {
    var x: [Int]; var t_x: [Double]; var T: [Double]
    var r: Double; var alpha: Double; var a: Double; var b: Double
    var mean_log_likelihood: Double; var alive_first20: [Double]
    var subjects: [BetaGeometricNBD.Subject] { x.indices.map { .init(x: x[$0], recency: t_x[$0], age: T[$0]) } }
  }
  struct Reference: Decodable { var cdnow: Case; var drawn: Case }

  func reference() throws -> Reference {
    let url = try #require(Bundle.module.url(forResource: "bgnbd-reference", withExtension: "json", subdirectory: "Fixtures"))
    return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
  }

  @Test(arguments: ["cdnow", "drawn"])
  func fitMatchesLifetimes(_ name: String) throws {
    let ref = try reference()
    let c = name == "cdnow" ? ref.cdnow : ref.drawn
    let fit = try BetaGeometricNBD.fit(c.subjects)
    // Both are maxima of the same likelihood to ~10⁻⁸ in its gradient: parameters agree to ~10⁻⁴.
    for (mine, theirs) in [(fit.r, c.r), (fit.alpha, c.alpha), (fit.a, c.a), (fit.b, c.b)] {
      #expect(abs(mine - theirs) <= 2e-4 * theirs, "\(name): \(mine) against lifetimes' \(theirs)")
    }
    // The likelihood at lifetimes' parameters equals lifetimes' value; ours is no lower.
    let theirs = BetaGeometricNBD(r: c.r, alpha: c.alpha, a: c.a, b: c.b)
    let meanLL = { (m: BetaGeometricNBD) in c.subjects.map { m.logLikelihood($0).value }.reduce(0, +) / Double(c.x.count) }
    #expect(abs(meanLL(theirs) - c.mean_log_likelihood) <= 1e-10 * abs(c.mean_log_likelihood))
    #expect(meanLL(fit) >= meanLL(theirs) - 1e-12)
    for (i, p) in c.alive_first20.enumerated() {
      #expect(abs(theirs.probabilityActive(c.subjects[i]) - p) <= 1e-12, "P(alive) of subject \(i)")
    }
  }

  @Test func gradientIsTheLikelihoodsSlope() {
    let m = BetaGeometricNBD(r: 0.7, alpha: 3.2, a: 0.6, b: 2.9)
    for s in [BetaGeometricNBD.Subject(x: 0, recency: 0, age: 30), .init(x: 4, recency: 12, age: 40), .init(x: 1, recency: 1, age: 60)] {
      let g = m.logLikelihood(s).gradient
      let logs = [log(m.r), log(m.alpha), log(m.a), log(m.b)]
      for k in 0..<4 {
        func at(_ e: Double) -> Double {
          var t = logs; t[k] += e
          return BetaGeometricNBD(r: exp(t[0]), alpha: exp(t[1]), a: exp(t[2]), b: exp(t[3])).logLikelihood(s).value
        }
        let numeric = (at(1e-6) - at(-1e-6)) / 2e-6
        #expect(abs(g[k] - numeric) <= 1e-6 * max(1, abs(numeric)), "subject \(s), parameter \(k)")
      }
    }
  }

  @Test func visitWithinAPeriodByHand() {
    let m = BetaGeometricNBD(r: 0.5, alpha: 2, a: 1, b: 3)
    // Never came back: active for sure; P(visit in 7) = 1 − (2 + 10)^0.5 / (2 + 17)^0.5.
    let once = BetaGeometricNBD.Subject(x: 0, recency: 0, age: 10)
    #expect(m.probabilityActive(once) == 1)
    #expect(abs(m.probabilityOfVisit(within: 7, once) - (1 - (12.0 / 19).squareRoot())) < 1e-14)
    // Came back twice, last 20 days before the end: odds of having stopped = a/(b + 1) · ((α+T)/(α+t_x))^(r+2).
    let gone = BetaGeometricNBD.Subject(x: 2, recency: 5, age: 25)
    let odds = 1.0 / 4 * pow(27.0 / 7, 2.5)
    #expect(abs(m.probabilityActive(gone) - 1 / (1 + odds)) < 1e-14)
    #expect(m.probabilityActive(gone) < m.probabilityActive(.init(x: 2, recency: 24, age: 25)))
  }

  @Test func refusesWhatItCannotLearnFrom() {
    #expect(throws: FitError.self) { try BetaGeometricNBD.fit([.init(x: 0, recency: 0, age: 5), .init(x: 1, recency: 2, age: 5)]) }
    #expect(throws: FitError.self) { try BetaGeometricNBD.fit([.init(x: 1, recency: 6, age: 5), .init(x: 1, recency: 2, age: 5)]) }
  }
}
