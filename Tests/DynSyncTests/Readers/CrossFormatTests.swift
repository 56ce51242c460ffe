import DynSync
import Testing

@Suite("The same org read from different formats")
struct CrossFormatTests {
  /// Columns both exports carry must read to equal values; association rows are left out, as
  /// CMT names them by their two sides and the Web API by the intersect row's own id.
  @Test(
    "Web API JSON, CMT and FetchXML exports of one org give equal canonical records", arguments: ["cmt", "fetchxml"])
  func sameOrg(format: String) throws {
    let webAPI = try loadSnapshot(from: [FixturePath.sample("contoso/01-initial/webapi")])
    let other = try loadSnapshot(from: [FixturePath.sample("contoso/01-initial/" + format)])
    #expect(webAPI.isComplete && other.isComplete)
    #expect(webAPI.rejects.isEmpty && other.rejects.isEmpty)
    var compared = 0
    for (entity, table) in other.tables where entity != "teammembership" {
      let reference = try #require(webAPI.tables[entity])
      #expect(table.records.count == reference.records.count, "\(entity) counts differ")
      for (id, record) in table.records {
        let expected = try #require(reference.records[id], "\(entity) \(id) missing from the Web API export")
        for (field, value) in record.fields where expected.fields[field] != nil {
          #expect(value == expected[field], "\(entity) \(id) \(field): \(format) \(value) vs webapi \(expected[field])")
          compared += 1
        }
      }
    }
    #expect(compared > 500)
  }
}
