import DynSync
import Testing

@Suite("Field mapping configuration")
struct FieldMappingTests {
  @Test("a mapping file replaces, adds and removes fields over the documented defaults")
  func overlay() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write(
      "mapping.json",
      """
      {"entities": {"contact": [
        {"dynamics": "new_region", "marketo": "region", "direction": "both"},
        {"dynamics": "jobtitle", "marketo": "title", "direction": "both", "blockUpdatesFromCRM": true},
        {"dynamics": "mobilephone", "marketo": ""}]}}
      """)
    let mapping = try MappingFile.load(path)
    let contact = mapping.fields(of: "contact")
    #expect(contact.contains { $0.dynamics == "new_region" && $0.marketo == "region" && $0.direction == .both })
    #expect(contact.first { $0.dynamics == "jobtitle" }?.blockUpdatesFromCRM == true)
    #expect(!contact.contains { $0.dynamics == "mobilephone" })
    #expect(mapping.fields(of: "lead") == FieldMapping.standard.fields(of: "lead"))
    #expect(try MappingFile.load(nil) == .standard)
  }

  @Test("a malformed mapping file is refused, naming the file and the place")
  func malformed() throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("mapping.json", #"{"entities": {"contact": [{"dynamics": "x"}]}}"#)
    #expect {
      _ = try MappingFile.load(path)
    } throws: { error in
      let error = try #require(error as? InputError)
      return error.file == path && error.reason.contains("missing \"marketo\"")
        && error.reason.contains(".entities.contact[0]")
    }
  }

  @Test("the default mapping follows the documented lead, contact and account tables")
  func defaults() {
    let lead = Dictionary(uniqueKeysWithValues: FieldMapping.standard.fields(of: "lead").map { ($0.dynamics, $0) })
    #expect(lead["emailaddress1"]?.marketo == "email")
    #expect(lead["leadsourcecode"]?.marketo == "leadSource")
    #expect(lead["emailaddress1"]?.direction == .both)
    let contact = Set(FieldMapping.standard.fields(of: "contact").map(\.dynamics))
    #expect(!contact.contains("leadsourcecode") && !contact.contains("fax") && contact.contains("mkt_leadscore"))
    #expect(FieldMapping.standard.fields(of: "account").allSatisfy { $0.direction == .toMarketo })
  }
}
