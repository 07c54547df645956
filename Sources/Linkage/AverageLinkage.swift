import HeapModule
import Linalg

/// Average linkage (UPGMA) over a sparse set of candidate edges under a cannot-link constraint:
/// repeatedly merge the two groups whose cross pairs have the highest mean score, while that mean is
/// accepted and no member of one group cannot be linked with a member of the other. Only groups joined
/// by at least one edge are compared (a mean can only reach a threshold if some pair across does).
///
/// The score of a pair is the dot product of its two rows of `x` (plus an optional extra term), so the
/// sum of the scores across two groups is the dot product of the groups' row sums: a merge updates one
/// sum vector and re-scores the merged group against its neighbours, and a heap of candidate merges
/// (stale entries skipped) finds the best. Cost: O((edges + merges × neighbours) × (d + log edges)), plus
/// the cannot-link check (and any extra score) over the cross pairs of each pair of groups scored, instead
/// of rescanning every edge and every cross pair at every merge. The means are those of the rescan up to
/// rounding (a dot product of sums instead of a sum of dot products).
///
/// Ties in the mean are broken by the smallest edge joining the two groups (lexicographic in the row
/// indices), and the group holding that edge's first row is the one merged into the other — the order
/// a scan of the sorted edges gives.
struct AverageLinkage {
  /// One merge: the members of the two groups (`from` joins `into`) as they were, and the mean score
  /// across them it was made at.
  struct Merge { var from: [Int], into: [Int], mean: Double }

  /// Each group's members, listed under its representative (every other unit's list is empty).
  var members: [[Int]]
  var merges: [Merge] = []

  /// - Parameters:
  ///   - x: rows 0..<n are the units.
  ///   - edges: pairs (i < j) that may start a merge.
  ///   - cannotLink: whether two units can never be in one group.
  ///   - extra: an extra score for a pair beyond the dot product (summed pair by pair), or nil.
  ///   - accept: whether a mean score is high enough to merge at.
  init(rows x: RowMajor, n: Int, edges: [(Int, Int)], cannotLink: (Int, Int) -> Bool, extra: ((Int, Int) -> Double)?, accept: (Double) -> Bool) {
    members = (0..<n).map { [$0] }
    let d = x.columns
    // Row sums of the merged groups (a single unit's is its row of x).
    var sums: [Int: [Double]] = [:]
    func sum(_ r: Int) -> [Double] { sums[r] ?? x.row(r) }
    func dot(_ a: Int, _ b: Int) -> Double {
      switch (sums[a], sums[b]) {
      case (nil, nil): return x.dot(a, b)
      case (let u?, nil): return x.dot(b, u)
      case (nil, let v?): return x.dot(a, v)
      case (let u?, let v?):
        var s = 0.0
        for k in 0..<d { s += u[k] * v[k] }
        return s
      }
    }
    // Neighbouring groups and the smallest edge joining each pair.
    var adjacent = [[Int: Edge]](repeating: [:], count: n)
    for (i, j) in edges {
      let e = Edge(i, j)
      adjacent[i][j] = min(adjacent[i][j] ?? e, e)
      adjacent[j][i] = min(adjacent[j][i] ?? e, e)
    }
    var version = [Int](repeating: 0, count: n)
    var heap = Heap<Candidate>()
    func consider(_ a: Int, _ b: Int, edge: Edge) {
      let (ma, mb) = (members[a], members[b])
      if ma.contains(where: { p in mb.contains { cannotLink(p, $0) } }) { return }
      var total = dot(a, b)
      if let extra { for p in ma { for q in mb { total += extra(p, q) } } }
      let mean = total / Double(ma.count * mb.count)
      guard accept(mean) else { return }
      heap.insert(Candidate(mean: mean, edge: edge, a: a, b: b, versions: (version[a], version[b])))
    }
    for a in 0..<n { for (b, e) in adjacent[a] where a < b { consider(a, b, edge: e) } }
    while let c = heap.popMax() {
      // Skip a merge one of whose groups has since merged (away, or grown).
      guard !members[c.a].isEmpty, !members[c.b].isEmpty, version[c.a] == c.versions.0, version[c.b] == c.versions.1 else { continue }
      // The group holding the joining edge's first row merges into the other.
      let (from, into) = members[c.a].contains(c.edge.i) ? (c.a, c.b) : (c.b, c.a)
      merges.append(Merge(from: members[from], into: members[into], mean: c.mean))
      var merged = sum(into)
      let add = sum(from)
      for k in 0..<d { merged[k] += add[k] }
      sums[into] = merged
      sums[from] = nil
      members[into] += members[from]
      members[from] = []
      version[into] += 1
      // Neighbours of the merged group: those of either, joined by the smaller of their edges.
      var neighbours = adjacent[into]
      for (g, e) in adjacent[from] { neighbours[g] = min(neighbours[g] ?? e, e) }
      neighbours[from] = nil; neighbours[into] = nil
      adjacent[from] = [:]
      adjacent[into] = neighbours
      for (g, e) in neighbours {
        adjacent[g][from] = nil
        adjacent[g][into] = e
      }
      for g in neighbours.keys.sorted() { consider(into, g, edge: neighbours[g]!) }
    }
  }

  /// The smallest edge joining two groups: row indices, i < j.
  struct Edge: Comparable {
    var i: Int, j: Int
    init(_ i: Int, _ j: Int) { self.i = i; self.j = j }
    static func < (l: Edge, r: Edge) -> Bool { l.i != r.i ? l.i < r.i : l.j < r.j }
  }

  /// A possible merge: ordered by mean score, then by the smaller joining edge first.
  struct Candidate: Comparable {
    var mean: Double, edge: Edge, a: Int, b: Int, versions: (Int, Int)
    static func < (l: Candidate, r: Candidate) -> Bool { l.mean != r.mean ? l.mean < r.mean : r.edge < l.edge }
    static func == (l: Candidate, r: Candidate) -> Bool { l.mean == r.mean && l.edge == r.edge }
  }
}
