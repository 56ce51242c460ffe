import DynSync
import DynSyncReaders
import Testing

@Suite("FetchXML result reader")
struct FetchXMLReaderTests {
  @Test("result rows are typed from their decorations")
  func resultset() throws {
    let (events, summary) = try readEvents(FixturePath.readers("fetchxml/accounts.xml"))
    #expect(summary.format == .fetchXML)
    #expect(!summary.hasNextPage)
    let records = events.records
    try #require(records.count == 2)
    let contoso = records[0]
    #expect(contoso.entity == "account", "the table comes from the paging cookie")
    #expect(contoso.id.description == "aaaa0001-0001-ef11-8409-000d3a8f1a01")
    #expect(contoso.origin.line == 3)
    #expect(contoso["name"] == .string("Contoso & Sons"))
    #expect(contoso["numberofemployees"] == .integer(250))
    #expect(contoso["revenue"] == decimal("1500000.0000"))
    #expect(contoso.labels["revenue"] == "$1,500,000.00")
    #expect(contoso["industrycode"] == .optionSet(7))
    #expect(contoso.labels["industrycode"] == "Consulting")
    #expect(contoso["donotemail"] == .boolean(false))
    #expect(
      contoso["primarycontactid"]
        == .lookup(Lookup(entity: "contact", id: guid("cccc0001-0001-ef11-8409-000d3a8f1a01"))))
    if case .lookup(let lookup) = contoso["primarycontactid"] { #expect(lookup.entity == "contact") }
    #expect(contoso.labels["primarycontactid"] == "Ana Ruiz")
    #expect(contoso["createdon"] == instant("2025-03-04T18:02:40Z"), "user offsets are normalised to UTC")
    let fabrikam = records[1]
    if case .lookup(let owner) = fabrikam["ownerid"] {
      #expect(owner.entity == "team")
    } else {
      Issue.record("no owner")
    }
    #expect(fabrikam.fields["revenue"] == nil, "null columns are absent in FetchXML")
  }

  @Test("without a paging cookie the table comes from the undecorated id column, or --entity")
  func entityInference() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "leads.xml",
      """
      <resultset morerecords="1">
        <result><ownerid type="8" dsc="0">{5A5A5A5A-0001-0000-0000-000000000001}</ownerid><leadid>{1D2C3B4A-0001-0000-0000-000000000001}</leadid></result>
      </resultset>
      """)
    let (events, summary) = try readEvents(path)
    #expect(events.records.first?.entity == "lead")
    #expect(summary.hasNextPage)
    let (forced, _) = try readEvents(path, entity: "lead")
    #expect(forced.records.first?.id == guid("1d2c3b4a-0001-0000-0000-000000000001"))
  }

  @Test("decorations read as their text, references replaced once; a namespace declaration is not a decoration")
  func decorationText() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "accounts.xml",
      """
      <resultset morerecords="0">
        <result>
          <accountid>{AAAA0001-0001-EF11-8409-000D3A8F1A01}</accountid>
          <industrycode name="R&amp;D &#38; more &lt;&amp;amp;&gt;">7</industrycode>
          <ownerid type="8" name="Ops &#x26; Sales" dsc="0">{5A5A5A5A-0001-0000-0000-000000000001}</ownerid>
          <name xmlns:name="urn:x">A &amp; B&#38;C</name>
        </result>
      </resultset>
      """)
    let read = try readBothWays(path, entity: "account")
    try #require(read.indexedIDs.count == 1)
    for record in [read.full, read.again].map(\.first) {
      let record = try #require(record)
      #expect(record["industrycode"] == .optionSet(7))
      #expect(record.labels["industrycode"] == "R&D & more <&amp;>")
      #expect(record.labels["ownerid"] == "Ops & Sales")
      #expect(record["name"] == .string("A & B&C"), "xmlns:name declares a prefix; it is no name= decoration")
      #expect(record.labels["name"] == nil)
    }
  }

  @Test("a value's text as XML gives it: CDATA, comments and instructions inside it, references, namespaced names")
  func valueText() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "accounts.xml",
      """
      <?xml version="1.0" encoding="utf-8"?>
      <resultset morerecords="0">
        <result>
          <accountid>{AAAA0001-0001-EF11-8409-000D3A8F1A01}</accountid>
          <name><![CDATA[A & <B>]]></name>
          <description>Foo<!-- x -->Bar<?pi x?>Baz</description>
          <address1_city>&lt;&amp;&#x41;&#66;</address1_city>
          <address1_line1>   </address1_line1>
          <address1_line2/>
          <address1_country>Zoë Ünal 日本</address1_country>
          <x:telephone1 xmlns:x="urn:y">555</x:telephone1>
          <industrycode a:name="Consulting" xmlns:a="urn:a">7</industrycode>
        </result>
      </resultset>
      """)
    let read = try readBothWays(path, entity: "account")
    try #require(read.indexedIDs.count == 1)
    for record in [read.full, read.again].map(\.first) {
      let record = try #require(record)
      #expect(record["name"] == .string("A & <B>"))
      #expect(record["description"] == .string("FooBarBaz"))
      #expect(record["address1_city"] == .string("<&AB"))
      #expect(record["address1_line1"] == .null, "white space alone is no value")
      #expect(record["address1_line2"] == .null)
      #expect(record["address1_country"] == .string("Zoë Ünal 日本"))
      #expect(record["telephone1"] == .string("555"), "an element is known by its local name")
      #expect(record["industrycode"] == .optionSet(7))
      #expect(record.labels["industrycode"] == "Consulting", "an attribute is known by its local name")
    }
  }

  @Test("an intersect table's results are the associations of their two ends, as a Web API page's rows are")
  func associations() throws {
    let folder = try TemporaryFolder()
    let team = "00007e7e-0000-0000-0000-000000000001"
    // Two members: the intersect row's own id, the user, the row's version.
    let members = [
      ("00007e01-0000-0000-0000-000000000001", "00005a5a-0000-0000-0000-000000000001", 5_000_154),
      ("00007e01-0000-0000-0000-000000000002", "00005a5a-0000-0000-0000-000000000002", 5_000_160),
    ]
    var results = "<resultset morerecords=\"0\">\n"
    var page =
      "{\"@odata.context\":\"https://org.crm.dynamics.com/api/data/v9.2/$metadata#teammemberships\",\"value\":["
    for (index, (row, user, version)) in members.enumerated() {
      results += "<result><teammembershipid>{\(row)}</teammembershipid><teamid>{\(team.uppercased())}</teamid>"
      results += "<systemuserid>{\(user)}</systemuserid><versionnumber>\(version)</versionnumber></result>\n"
      page += (index > 0 ? "," : "") + "{\"@odata.etag\":\"W/\\\"\(version)\\\"\",\"versionnumber\":\(version),"
      page += "\"teamid\":\"\(team)\",\"systemuserid\":\"\(user)\",\"teammembershipid\":\"\(row)\"}"
    }
    let xml = try folder.write("xml/teammemberships.xml", results + "</resultset>\n")
    let json = try folder.write("json/teammemberships.json", page + "]}")
    let (fromJSON, _) = try readEvents(json)
    let fromXML = try readBothWays(xml, entity: "teammembership")
    let expected = fromJSON.records.sorted { $0.id < $1.id }
    try #require(expected.count == 2)
    #expect(expected.allSatisfy { $0.fields.count == 2 && $0.version == nil })
    #expect(fromXML.indexedIDs.sorted() == expected.map(\.id), "the index holds the associations' ids")
    for records in [fromXML.full, fromXML.again] {
      let records = records.sorted { $0.id < $1.id }
      #expect(records.map(\.id) == expected.map(\.id), "the association's id, not the intersect row's")
      #expect(records.map(\.fields) == expected.map(\.fields))
      #expect(records.allSatisfy { $0.version == nil && $0.labels.isEmpty })
    }
  }
}

/// A FetchXML file of `entity` read both ways: in full, and indexed then read again.
///
/// It gives its records read in full, and the rows its index pass hands on (their ids, and their records read again
/// from their bytes). The pass parsed by libxml2 and, unless it declines, the byte scan's must hand on the same rows.
private func readBothWays(_ path: String, entity: String) throws -> (
  full: [Record], again: [Record], indexedIDs: [GUID]
) {
  let (events, _) = try readEvents(path, entity: entity)
  let reader = FetchXMLReader(path: path, entity: entity)
  func indexed(scanning: Bool) throws -> [IndexedRow]? {
    var rows: [IndexedRow] = []
    do {
      _ = try reader.index(file: 0, scanning: scanning) { event in
        if case .row(_, let row) = event { rows.append(row) }
      }
    } catch is XMLScanDeclined {
      return nil
    }
    return rows
  }
  let parsed = try #require(try indexed(scanning: false))
  if let scanned = try indexed(scanning: true) { #expect(scanned == parsed) }
  return (events.records, try reader.decode(parsed, entity: entity).records, parsed.map(\.id))
}
