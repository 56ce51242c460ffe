import DynSyncCore

/// The `data_schema.xml` of a Configuration Migration tool export.
///
/// It gives each table's primary id column, column types and many-to-many relationships. It is
/// small, so it is read whole.
public struct CMTSchema: Sendable, Equatable {
  public struct Field: Sendable, Equatable {
    public var name: String
    /// The CMT type name.
    ///
    /// Seen: `string`, `number`, `bigint`, `decimal`, `float`, `money`, `bool`, `datetime`,
    /// `guid`, `optionsetvalue`, `optionsetvaluecollection`, `state`, `status`, `entityreference`,
    /// `owner`, `customer`, `partylist`.
    public let type: String
    /// How a value of the type is read, settled once per column rather than once per value.
    public let kind: ValueKind
    /// Pipe-separated target tables of a lookup (`account|contact`).
    public var lookupType: String?

    public init(name: String, type: String, lookupType: String?) {
      self.name = name
      self.type = type
      self.kind = ValueKind(type: type)
      self.lookupType = lookupType
    }
  }

  /// How dynsync reads a value of a CMT type.
  public enum ValueKind: Sendable, Equatable {
    /// `string`, `memo`: text with its HTML entities decoded.
    case text
    case integer
    case decimal
    case boolean
    case dateTime
    case guid
    case choice
    /// `optionsetvaluecollection`.
    case choices
    case lookup
    /// A type dynsync does not parse (`partylist`, `image`, …): the text as written.
    case verbatim

    init(type: String) {
      switch type {
      case "string", "memo": self = .text
      case "number", "bigint", "int", "integer": self = .integer
      case "decimal", "money", "float", "double": self = .decimal
      case "bool", "boolean": self = .boolean
      case "datetime": self = .dateTime
      case "guid", "uniqueidentifier": self = .guid
      case "optionsetvalue", "state", "status", "picklist": self = .choice
      case "optionsetvaluecollection": self = .choices
      case "entityreference", "owner", "customer", "lookup": self = .lookup
      default: self = .verbatim
      }
    }

    /// Whether `CMTReader.value` takes every text for a column of the kind (text, and types it
    /// does not know).
    public var takesAnyValue: Bool { self == .text || self == .verbatim }
  }

  public struct ManyToMany: Sendable, Equatable {
    public var name: String
    /// The intersect table (`teammembership`), which names the association rows.
    public var intersectEntity: String
    public var targetEntity: String
    public var targetPrimaryKey: String
  }

  public struct Entity: Sendable, Equatable {
    public var name: String
    public var primaryIDField: String
    public var fields: [String: Field]
    public var manyToMany: [String: ManyToMany]
  }

  public var path: String
  public var entities: [String: Entity]

  /// The table whose `<entity>` declares the many-to-many relationship `name`, when exactly one does: the table a
  /// `<m2mrelationship>` of that name stands in, in a `data.xml`.
  public func sourceEntity(ofRelationship name: String) -> String? {
    let declaring = entities.values.filter { $0.manyToMany[name] != nil }
    return declaring.count == 1 ? declaring.first?.name : nil
  }

  /// Whether `entity` is the intersect table of a many-to-many relationship the schema declares: its rows are the
  /// associations of `<m2mrelationship>` elements.
  public func isIntersectEntity(_ entity: String) -> Bool {
    entities.values.contains { $0.manyToMany.values.contains { $0.intersectEntity == entity } }
  }

  public init(path: String) throws {
    let described = CMTSchemaCollector(path: path)
    try XMLSAXParser.parse(file: path, handler: described)
    described.finish()
    guard described.sawRoot else {
      throw InputError(file: path, reason: "no <entities> element: not a data_schema.xml")
    }
    self.path = path
    self.entities = described.entities
  }
}

/// Follows the SAX events of a `data_schema.xml`, gathering each `<entity>`'s columns and
/// many-to-many relationships.
private final class CMTSchemaCollector: XMLSAXHandler {
  let path: String
  private(set) var entities: [String: CMTSchema.Entity] = [:]
  private(set) var sawRoot = false
  private var current: CMTSchema.Entity?
  /// Unretained: the parser lives for the whole parse.
  private unowned(unsafe) var parser: (any XMLEventSource)?

  init(path: String) { self.path = path }

  func follow(_ parser: any XMLEventSource) { self.parser = parser }

  private func error(_ reason: String) -> InputError { InputError(file: path, line: parser?.line, reason: reason) }

  /// Keeps the entity being read.
  func finish() {
    if let entity = current { entities[entity.name] = entity }
    current = nil
  }

  func startElement(_ name: UnsafeBufferPointer<UInt8>, attributes: XMLSAXParser.Attributes, depth: Int) throws {
    let name = String(decoding: name, as: UTF8.self)
    let attributes = attributes.decoded()
    switch name {
    case "entities" where !sawRoot:
      sawRoot = true
    case "entity":
      finish()
      guard let name = attributes["name"] else { throw error("<entity> without name=") }
      current = CMTSchema.Entity(
        name: name, primaryIDField: attributes["primaryidfield"] ?? DataverseCatalog.primaryIDField(of: name),
        fields: [:], manyToMany: [:])
    case "field":
      guard let name = attributes["name"], let type = attributes["type"] else {
        throw error("<field> without name= and type=")
      }
      guard current != nil else { throw error("<field \(name)> outside an <entity>") }
      current?.fields[name] = CMTSchema.Field(name: name, type: type.lowercased(), lookupType: attributes["lookupType"])
    case "relationship" where attributes["manyToMany"]?.lowercased() == "true":
      guard let name = attributes["name"], let target = attributes["m2mTargetEntity"] else {
        throw error("many-to-many <relationship> without name= and m2mTargetEntity=")
      }
      current?.manyToMany[name] = CMTSchema.ManyToMany(
        name: name, intersectEntity: attributes["relatedEntityName"] ?? name, targetEntity: target,
        targetPrimaryKey: attributes["m2mTargetEntityPrimaryKey"] ?? DataverseCatalog.primaryIDField(of: target))
    default:
      guard sawRoot else { throw error("root element is <\(name)>, not <entities>: not a data_schema.xml") }
    }
  }

  func endElement(_ name: UnsafePointer<UInt8>, depth: Int) throws {}

  func characters(_ text: UnsafeBufferPointer<UInt8>, depth: Int) {}
}
