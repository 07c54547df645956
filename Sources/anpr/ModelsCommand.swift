import ArgumentParser
import Foundation
import ModelCatalogue
import Modelling

extension ANPR {
  /// `anpr models`: the registered model kinds, or what a saved model learned.
  struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the model kinds a spec can name, or summarise a saved model file.",
      discussion: """
        Without a file: every registered kind, its family and what it is (--json: one object per kind,
        with the parameters for a quick fit that the contract tests use).
        With a model file: what it learned from and how the fit went (like statsmodels' summary()).
        """)
    @Argument(help: "A model file written by 'anpr train'.") var model: String?
    @Flag(help: "JSON lines instead of a table.") var json = false

    func run() throws {
      if let model {
        let m = try ModelRegistry.standard.load(model)
        let s = m.fitted.summary()
        if json {
          struct Out: Encodable { var kind: String, family: String, name: String, facts: [[String]], notes: [String] }
          try printJSONLine(Out(kind: s.kind.rawValue, family: m.registration.family.rawValue, name: m.name,
                                facts: s.facts.map { [$0.name, $0.value] }, notes: s.notes))
        } else {
          print("\(m.name) (\(s.kind), \(m.registration.family.rawValue)); trained on \(m.header.timeZone ?? "UTC") time, data \(m.header.dataFingerprint)")
          print(s.description.split(separator: "\n").dropFirst().joined(separator: "\n"))
        }
        return
      }
      for r in ModelRegistry.standard.all {
        if json {
          try printJSONLine(["kind": r.kind.rawValue, "family": r.family.rawValue, "about": r.about,
                             "quick_parameters": String(decoding: r.quickParameters, as: UTF8.self)])
        } else {
          print(r.kind.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0) + r.family.rawValue.padding(toLength: 17, withPad: " ", startingAt: 0) + r.about)
        }
      }
    }
  }
}
