/// How Dynamics columns become Marketo fields: per table, Dynamics column → Marketo REST API
/// name, the direction of the sync, and whether updates from the CRM are blocked.
///
/// The documented default mapping is built in; a JSON file may replace or add fields per table
/// (see `docs/sync-rules.md`).
public struct FieldMapping: Sendable, Equatable, Codable {
  public enum Direction: String, Sendable, Codable {
    /// Dynamics → Marketo only.
    case toMarketo
    /// Both ways (leads and contacts only).
    case both
  }

  /// Which side wins when both changed one field since the last batch.
  public enum Preference: String, Sendable, Codable {
    case marketo
    case dynamics
    case newest
  }

  public struct Field: Sendable, Equatable, Codable {
    public var dynamics: String
    public var marketo: String
    public var direction: Direction
    /// Keep the Marketo value even when Dynamics changes it.
    public var blockUpdatesFromCRM: Bool
    public var prefer: Preference?

    public init(
      dynamics: String, marketo: String, direction: Direction = .toMarketo, blockUpdatesFromCRM: Bool = false,
      prefer: Preference? = nil
    ) {
      self.dynamics = dynamics
      self.marketo = marketo
      self.direction = direction
      self.blockUpdatesFromCRM = blockUpdatesFromCRM
      self.prefer = prefer
    }

    enum CodingKeys: String, CodingKey {
      case dynamics, marketo, direction, blockUpdatesFromCRM, prefer
    }

    public init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: CodingKeys.self)
      dynamics = try container.decode(String.self, forKey: .dynamics)
      marketo = try container.decode(String.self, forKey: .marketo)
      direction = try container.decodeIfPresent(Direction.self, forKey: .direction) ?? .toMarketo
      blockUpdatesFromCRM = try container.decodeIfPresent(Bool.self, forKey: .blockUpdatesFromCRM) ?? false
      prefer = try container.decodeIfPresent(Preference.self, forKey: .prefer)
    }
  }

  /// Table logical name → its mapped columns.
  public var entities: [String: [Field]]

  public init(entities: [String: [Field]]) {
    self.entities = entities
  }

  /// The mapped columns of a table, in a stable order.
  public func fields(of entity: String) -> [Field] { entities[entity] ?? [] }

  /// This mapping with `overrides` laid over it: a field named again (by Dynamics column)
  /// replaces the default, a new one is added, and `"marketo": ""` removes one.
  public func overlaid(with overrides: FieldMapping) -> FieldMapping {
    var merged = self
    for (entity, fields) in overrides.entities {
      var current = merged.entities[entity] ?? []
      for field in fields {
        current.removeAll { $0.dynamics == field.dynamics }
        if !field.marketo.isEmpty { current.append(field) }
      }
      merged.entities[entity] = current
    }
    return merged
  }

  /// The documented default mapping of Marketo's Dynamics sync.
  public static let standard: FieldMapping = {
    func both(_ dynamics: String, _ marketo: String) -> Field {
      Field(dynamics: dynamics, marketo: marketo, direction: .both)
    }
    func one(_ dynamics: String, _ marketo: String) -> Field { Field(dynamics: dynamics, marketo: marketo) }
    let personFields = [
      both("salutation", "salutation"), both("firstname", "firstName"), both("middlename", "middleName"),
      both("lastname", "lastName"), both("emailaddress1", "email"), both("jobtitle", "title"),
      both("telephone1", "phone"), both("mobilephone", "mobilePhone"), both("address1_line1", "address"),
      both("address1_city", "city"), both("address1_stateorprovince", "state"), both("address1_country", "country"),
      both("address1_postalcode", "postalCode"), both("statecode", "leadStatus"),
      both("statuscode", "msftStatusReason"), both("description", "personNotes"), both("donotphone", "doNotCall"),
      both("donotbulkemail", "unsubscribed"), both("address1_line2", "msftAddress2"),
      both("address1_line3", "msftAddress3"), both("donotemail", "msftDoNotEmail"), both("donotfax", "msftDoNotFax"),
      both("donotsendmm", "msftDoNotSendMarketingMaterial"), both("telephone2", "msftHomePhone"),
      both("preferredcontactmethodcode", "msftPreferredMethodOfContact"),
      both("mkt_lastinterestingmomentdate", "lastInterestingMomentDate"),
      both("mkt_lastinterestingmomentdesc", "lastInterestingMomentDesc"),
      both("mkt_leadinterestingmomentsource", "lastInterestingMomentSource"),
      both("mkt_lastinterestingmomenttype", "lastInterestingMomentType"), both("mkt_relativescore", "relativeScore"),
      both("mkt_priority", "priority"), both("mkt_urgency", "urgency"),
    ]
    let leadOnly = [
      both("fax", "fax"), both("leadsourcecode", "leadSource"), both("leadqualitycode", "rating"),
      both("subject", "msftTopic"), both("companyname", "company"), both("revenue", "annualRevenue"),
    ]
    let contactOnly = [both("mkt_leadscore", "leadScore")]
    let account = [
      one("name", "company"), one("address1_line1", "billingStreet"), one("address1_city", "billingCity"),
      one("address1_country", "billingCountry"), one("address1_postalcode", "billingPostalCode"),
      one("address1_line2", "msftBillingAddress2"), one("address1_line3", "msftBillingAddress3"),
      one("telephone1", "mainPhone"), one("businesstypecode", "msftBusinessType"),
      one("accountnumber", "msftAccountNumber"), one("statecode", "msftCompanyStatus"),
      one("revenue", "annualRevenue"), one("description", "companyNotes"), one("industrycode", "industry"),
      one("sic", "sicCode"), one("websiteurl", "website"), one("numberofemployees", "numberOfEmployees"),
    ]
    let opportunity = [
      one("name", "name"), one("closeprobability", "probability"), one("statecode", "stage"),
      one("actualclosedate", "closeDate"), one("estimatedvalue", "expectedRevenue"),
      one("description", "description"), one("estimatedclosedate", "msftEstimatedCloseDate"),
    ]
    let systemuser = [
      one("firstname", "firstName"), one("lastname", "lastName"), one("fullname", "fullName"),
      one("internalemailaddress", "email"), one("jobtitle", "title"), one("address1_telephone1", "phone"),
      one("isdisabled", "msftIsDisabled"),
    ]
    let team = [one("name", "name"), one("teamtype", "msftTeamType")]
    return FieldMapping(entities: [
      "lead": personFields + leadOnly, "contact": personFields + contactOnly, "account": account,
      "opportunity": opportunity, "systemuser": systemuser, "team": team,
    ])
  }()
}
