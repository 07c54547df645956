import Foundation
import Modelling
import Reads

/// A synthetic town's road graph and cameras. The default resembles a seaside town: a grid of
/// streets with the seafront along the south edge, a town centre near the sea, and arterial roads
/// entering from the west (the northernmost from London). `scale` multiplies the area and the
/// camera count (1 ≈ 60 cameras; 50 ≈ a county with ~3000).
public struct Town: Sendable {
  public struct Node: Sendable {
    public var x: Double, y: Double  // metres east / north of the south-west corner
    public var latitude: Double, longitude: Double
    /// Off-grid gateway where traffic from outside joins an arterial road.
    public var isGateway: Bool
    public var road: String
  }
  public struct Edge: Sendable { public var to: Int; public var metres: Double; public var kmh: Double }

  public let width: Int, height: Int
  public var nodes: [Node]
  public var adjacency: [[Edge]]
  /// Gateway nodes; `londonGateway` is where the London road enters.
  public var gateways: [Int]
  public var londonGateway: Int
  /// Grid nodes by role.
  public var centre: [Int], seafront: [Int], residential: [Int]
  /// Cameras in registry order; `cameraSiteNode[c]` is the node the camera watches.
  public var cameras: [Camera]
  public var cameraNode: [Int]
  /// `cameraDirection[c]`: nil = all traffic, true = eastbound/northbound, false = the other way.
  public var cameraDirection: [Bool?]
  /// Cameras at each node (empty where there is none).
  public var camerasAtNode: [[Int]]
  /// `nextHop[src * n + dst]`: the next node on the fastest free-flow path.
  let nextHop: [Int32]

  static let spacing = 700.0
  static let lat0 = 51.528, lon0 = 0.600
  static let metresPerDegLat = 111_200.0, metresPerDegLon = 69_300.0

  /// Builds the town for `scale`, placing cameras with `rng`.
  public init(scale: Double, rng: inout SeededRNG) {
    let s = max(scale, 0.25)
    let width = max(6, Int((12 * s.squareRoot()).rounded()))
    let height = max(4, Int((6 * s.squareRoot()).rounded()))
    self.width = width
    self.height = height
    var nodes: [Node] = []
    // Arterial rows: the top row is the London road (A127); the middle the A13; more for big scales.
    var arterialRows: [Int: String] = [height - 1: "A127 London Road", height / 2: "A13"]
    var extra = 1
    for y in stride(from: height / 2 - 4, to: 1, by: -4) { arterialRows[y] = "A\(1100 + extra)"; extra += 1 }
    for y in stride(from: height / 2 + 4, to: height - 1, by: 4) { arterialRows[y] = "A\(1100 + extra)"; extra += 1 }
    func roadName(_ x: Int, _ y: Int) -> String {
      if let r = arterialRows[y] { return r }
      if y == 0 { return "Seafront B1016" }
      return x % 3 == 0 ? "B\(1000 + x)" : "Local road"
    }
    for y in 0..<height {
      for x in 0..<width {
        let mx = Double(x) * Self.spacing, my = Double(y) * Self.spacing
        nodes.append(Node(x: mx, y: my, latitude: Self.lat0 + my / Self.metresPerDegLat,
                          longitude: Self.lon0 + mx / Self.metresPerDegLon, isGateway: false, road: roadName(x, y)))
      }
    }
    var adjacency = [[Edge]](repeating: [], count: nodes.count)
    func speed(_ a: Int, _ b: Int) -> Double {
      let ya = a / width, yb = b / width
      if ya == yb, arterialRows[ya] != nil { return 60 }
      if ya == yb, ya == 0 { return 40 }
      if (a % width) == (b % width), (a % width) % 3 == 0 { return 45 }
      return 32
    }
    func link(_ a: Int, _ b: Int, kmh: Double? = nil) {
      let d = hypot(nodes[a].x - nodes[b].x, nodes[a].y - nodes[b].y)
      let v = kmh ?? speed(a, b)
      adjacency[a].append(Edge(to: b, metres: d, kmh: v))
      adjacency[b].append(Edge(to: a, metres: d, kmh: v))
    }
    for y in 0..<height {
      for x in 0..<width {
        let i = y * width + x
        if x + 1 < width { link(i, i + 1) }
        if y + 1 < height { link(i, i + width) }
      }
    }
    // Gateways: west ends of arterial rows, 2 km out.
    var gateways: [Int] = []
    var london = 0
    for y in arterialRows.keys.sorted(by: >) {
      let g = nodes.count
      nodes.append(Node(x: -2000, y: Double(y) * Self.spacing, latitude: Self.lat0 + Double(y) * Self.spacing / Self.metresPerDegLat,
                        longitude: Self.lon0 - 2000 / Self.metresPerDegLon, isGateway: true, road: arterialRows[y]!))
      adjacency.append([])
      link(g, y * width, kmh: 70)
      gateways.append(g)
      if y == height - 1 { london = g }
    }
    self.nodes = nodes
    self.adjacency = adjacency
    self.gateways = gateways
    londonGateway = london
    let cx = Double(width) * 0.55, cy = 1.5
    var centre: [Int] = [], seafront: [Int] = [], residential: [Int] = []
    for i in 0..<(width * height) {
      let x = Double(i % width), y = Double(i / width)
      if abs(x - cx) <= max(1.5, Double(width) / 10), abs(y - cy) <= max(1.2, Double(height) / 10) { centre.append(i) }
      else if i / width == 0 { seafront.append(i) }
      else { residential.append(i) }
    }
    self.centre = centre; self.seafront = seafront; self.residential = residential

    // Cameras: both directions at the first grid node of every arterial entry; then random sites
    // (30% with one camera per direction) until ~60 × scale cameras.
    var cameras: [Camera] = [], cameraNode: [Int] = [], cameraDirection: [Bool?] = []
    var atNode = [[Int]](repeating: [], count: nodes.count)
    func addSite(_ node: Int, dual: Bool) {
      let site = String(format: "S%03d", cameras.count == 0 ? 1 : Set(cameraNode).count + 1)
      let n = nodes[node]
      let dirs: [Bool?] = dual ? [true, false] : [nil]
      for d in dirs {
        let id = String(format: "CAM%04d", cameras.count + 1)
        let label: String = d == nil ? "all traffic" : (d! ? "eastbound/northbound" : "westbound/southbound")
        cameras.append(Camera(id: id, site: site, latitude: (n.latitude * 1e6).rounded() / 1e6,
                              longitude: (n.longitude * 1e6).rounded() / 1e6,
                              bearing: d == nil ? nil : (d! ? 90 : 270), road: n.road,
                              description: "\(n.road), \(label)"))
        atNode[node].append(cameras.count - 1)
        cameraNode.append(node)
        cameraDirection.append(d)
      }
    }
    for g in gateways { addSite(adjacency[g][0].to, dual: true) }
    let target = max(12, Int((60 * s).rounded()))
    var candidates = Array(0..<(width * height)).filter { atNode[$0].isEmpty }
    candidates.shuffle(using: &rng)
    // Centre and seafront sites first: towns watch their centres.
    candidates.sort { (centre.contains($0) || seafront.contains($0) ? 0 : 1) < (centre.contains($1) || seafront.contains($1) ? 0 : 1) }
    var k = 0
    while cameras.count < target && k < candidates.count {
      addSite(candidates[k], dual: rng.bernoulli(0.3) && cameras.count + 2 <= target)
      k += 1
    }
    self.cameras = cameras; self.cameraNode = cameraNode; self.cameraDirection = cameraDirection
    camerasAtNode = atNode

    // All-pairs next hop by Dijkstra on free-flow travel time.
    let n = nodes.count
    var next = [Int32](repeating: -1, count: n * n)
    for src in 0..<n {
      var dist = [Double](repeating: .infinity, count: n)
      var first = [Int32](repeating: -1, count: n)
      var heap = BinaryHeap()
      dist[src] = 0
      heap.push(0, src)
      while let (d, u) = heap.pop() {
        if d > dist[u] { continue }
        for e in adjacency[u] {
          let nd = d + e.metres / (e.kmh / 3.6)
          if nd < dist[e.to] - 1e-9 {
            dist[e.to] = nd
            first[e.to] = u == src ? Int32(e.to) : first[u]
            heap.push(nd, e.to)
          }
        }
      }
      for dst in 0..<n { next[src * n + dst] = first[dst] }
    }
    nextHop = next
  }

  /// The fastest free-flow path from `a` to `b`, both ends included.
  public func path(from a: Int, to b: Int) -> [Int] {
    var out = [a]
    var cur = a
    let n = nodes.count
    while cur != b {
      let nx = Int(nextHop[cur * n + b])
      if nx < 0 { break }
      out.append(nx)
      cur = nx
    }
    return out
  }

  /// The edge from `a` to its neighbour `b`.
  func edge(_ a: Int, _ b: Int) -> Edge { adjacency[a].first { $0.to == b }! }

  /// The camera at `node` that sees a vehicle moving from `from` to `to` through it, if any.
  func camera(at node: Int, from: Int?, to: Int?) -> Int? {
    let cams = camerasAtNode[node]
    if cams.isEmpty { return nil }
    if cams.count == 1 { return cams[0] }
    // Direction of travel through the node.
    let a = from ?? node, b = to ?? node
    let dx = nodes[b].x - nodes[a].x, dy = nodes[b].y - nodes[a].y
    let positive = dx + dy >= 0
    return cams.first { cameraDirection[$0] == positive } ?? cams[0]
  }
}

/// A minimal binary min-heap of (priority, node) for Dijkstra.
struct BinaryHeap {
  var items: [(Double, Int)] = []
  mutating func push(_ p: Double, _ v: Int) {
    items.append((p, v))
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      if items[parent].0 <= items[i].0 { break }
      items.swapAt(parent, i); i = parent
    }
  }
  mutating func pop() -> (Double, Int)? {
    guard let top = items.first else { return nil }
    let last = items.removeLast()
    if !items.isEmpty {
      items[0] = last
      var i = 0
      while true {
        let l = 2 * i + 1, r = l + 1
        var m = i
        if l < items.count && items[l].0 < items[m].0 { m = l }
        if r < items.count && items[r].0 < items[m].0 { m = r }
        if m == i { break }
        items.swapAt(i, m); i = m
      }
    }
    return top
  }
}
