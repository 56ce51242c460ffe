import DynSyncReaders
import Foundation

/// Compares an expected batch tree with an actual one and says where they first differ, in terms
/// a person can act on: the file, the record (by id or key), the field, expected and actual.
public enum BatchComparison {
  /// Files that are compared: everything but the state (pinned through the manifest's digests).
  static func files(under root: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
    var files: [String] = []
    while let relative = enumerator.nextObject() as? String {
      let components = relative.split(separator: "/")
      if components.contains("state") || components.contains(where: { $0.hasPrefix(".") }) {
        if components.last == "state" { enumerator.skipDescendants() }
        continue
      }
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory),
        !isDirectory.boolValue
      {
        files.append(relative)
      }
    }
    return files.sorted()
  }

  /// The differences between two trees, first ones first, at most `limit`.
  public static func differences(expected: String, actual: String, limit: Int = 5) -> [String] {
    let expectedFiles = files(under: expected)
    let actualFiles = files(under: actual)
    var found: [String] = []
    for missing in expectedFiles where !actualFiles.contains(missing) {
      found.append("\(missing): expected, but not produced")
    }
    for extra in actualFiles where !expectedFiles.contains(extra) {
      found.append("\(extra): produced, but not expected")
    }
    for file in expectedFiles where actualFiles.contains(file) && found.count < limit {
      let want = FileManager.default.contents(atPath: expected + "/" + file) ?? Data()
      let got = FileManager.default.contents(atPath: actual + "/" + file) ?? Data()
      if want != got { found.append(file + ": " + firstDifference(file: file, expected: want, actual: got)) }
    }
    return Array(found.prefix(limit))
  }

  static func firstDifference(file: String, expected: Data, actual: Data) -> String {
    let want = String(decoding: expected, as: UTF8.self)
    let got = String(decoding: actual, as: UTF8.self)
    if file.hasSuffix(".ndjson") { return ndjsonDifference(want, got) }
    if file.hasSuffix(".csv") { return csvDifference(want, got) }
    if file.hasSuffix(".json"),
      let a = try? JSONSerialization.jsonObject(with: expected),
      let b = try? JSONSerialization.jsonObject(with: actual),
      let difference = jsonDifference(a, b, path: "")
    {
      return difference
    }
    let lines = (
      want.split(separator: "\n", omittingEmptySubsequences: false),
      got.split(separator: "\n", omittingEmptySubsequences: false)
    )
    for index in 0..<max(lines.0.count, lines.1.count) {
      let a = index < lines.0.count ? String(lines.0[index]) : "(end of file)"
      let b = index < lines.1.count ? String(lines.1[index]) : "(end of file)"
      if a != b { return "line \(index + 1): expected \(a) but got \(b)" }
    }
    return "the bytes differ"
  }

  /// The key a line is known by: its `id`, `key` or `msftRecordId`, else its line number.
  static func recordKey(_ object: Any, line: Int) -> String {
    if let dictionary = object as? [String: Any] {
      for key in [
        "id", "key", "msftRecordId", "externalCompanyId", "externalOpportunityId", "externalSalesPersonId",
        "msftTeamId",
      ] {
        if let value = dictionary[key] { return "\(value)" }
      }
    }
    return "line \(line)"
  }

  static func ndjsonDifference(_ want: String, _ got: String) -> String {
    func records(_ text: String) -> [(String, Any)] {
      text.split(separator: "\n").enumerated().map { index, line in
        let object =
          (try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])) ?? String(line)
        return (recordKey(object, line: index + 1), object)
      }
    }
    let expected = records(want)
    let actual = records(got)
    let actualByKey = Dictionary(actual, uniquingKeysWith: { first, _ in first })
    let expectedByKey = Dictionary(expected, uniquingKeysWith: { first, _ in first })
    for (key, object) in expected {
      guard let other = actualByKey[key] else { return "record \(key): expected, but not produced" }
      if let difference = jsonDifference(object, other, path: "") { return "record \(key): " + difference }
    }
    for (key, _) in actual where expectedByKey[key] == nil { return "record \(key): produced, but not expected" }
    return "the records are the same but their order or spelling differs"
  }

  static func csvDifference(_ want: String, _ got: String) -> String {
    let expected = CSVTable(want)
    let actual = CSVTable(got)
    if expected.header != actual.header {
      return
        "header: expected \(expected.header.joined(separator: ",")) but got \(actual.header.joined(separator: ","))"
    }
    let actualRows = Dictionary(actual.rows.map { ($0.first ?? "", $0) }, uniquingKeysWith: { first, _ in first })
    for row in expected.rows {
      let key = row.first ?? ""
      guard let other = actualRows[key] else { return "record \(key): expected, but not produced" }
      for (index, column) in expected.header.enumerated()
      where index < row.count && (index >= other.count || row[index] != other[index]) {
        let value = index < other.count ? other[index] : "(missing)"
        return "record \(key): field \(column): expected \"\(row[index])\" but got \"\(value)\""
      }
    }
    return "rows differ in number or order (expected \(expected.rows.count), got \(actual.rows.count))"
  }

  /// The first path at which two JSON values differ, with both values.
  static func jsonDifference(_ a: Any, _ b: Any, path: String) -> String? {
    if let x = a as? [String: Any], let y = b as? [String: Any] {
      for key in Set(x.keys).union(y.keys).sorted() {
        let child = path.isEmpty ? key : path + "." + key
        guard let left = x[key] else { return "field \(child): not expected, but got \(render(y[key] as Any))" }
        guard let right = y[key] else { return "field \(child): expected \(render(left)), but it is missing" }
        if let difference = jsonDifference(left, right, path: child) { return difference }
      }
      return nil
    }
    if let x = a as? [Any], let y = b as? [Any] {
      for index in 0..<max(x.count, y.count) {
        let child = path + "[\(index)]"
        guard index < x.count else { return "field \(child): not expected, but got \(render(y[index]))" }
        guard index < y.count else { return "field \(child): expected \(render(x[index])), but it is missing" }
        if let difference = jsonDifference(x[index], y[index], path: child) { return difference }
      }
      return nil
    }
    return render(a) == render(b) ? nil : "field \(path): expected \(render(a)) but got \(render(b))"
  }

  static func render(_ value: Any) -> String {
    if value is NSNull { return "null" }
    if let text = value as? String { return "\"\(text)\"" }
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) {
      return String(decoding: data, as: UTF8.self)
    }
    return "\(value)"
  }
}
