/// One row of a Marketo-side changes file: a person's fields as Marketo holds them now.
public struct MarketoEdit: Sendable, Equatable {
  /// The Marketo person id, as written in the file.
  public var personID: String
  /// Marketo REST API name → value as text.
  public var values: [String: String]
  public var updatedAt: Timestamp?
  public var position: SourcePosition

  public init(personID: String, values: [String: String], updatedAt: Timestamp?, position: SourcePosition) {
    self.personID = personID
    self.values = values
    self.updatedAt = updatedAt
    self.position = position
  }

  /// Columns that describe the row rather than person fields.
  static let rowColumns: Set<String> = ["id", "updatedAt", "createdAt", "syncToDynamics", MarketoField.microsoftType]

  /// A Marketo-only person (Microsoft Type empty) asking to be created in Dynamics.
  var requestsDynamicsCreate: Bool {
    let type = values[MarketoField.microsoftType] ?? ""
    let request = (values["syncToDynamics"] ?? "").lowercased()
    return type.isEmpty && (request == "true" || request == "1" || request == "yes")
  }
}

/// A write dynsync sends to Dynamics: a new lead, or changed columns of a lead or contact.
public struct OutboundWrite: Sendable, Equatable {
  public enum Method: String, Sendable {
    case create = "POST"
    case update = "PATCH"
  }

  public var method: Method
  public var entity: String
  public var id: GUID
  public var personID: Int64
  /// Dynamics logical name → value, only the columns to write.
  public var fields: Fields
}

/// The same field changed on both sides since the last batch, and which side won.
public struct Conflict: Sendable, Equatable {
  public var entity: String
  public var id: GUID
  public var personID: Int64
  public var field: String
  public var marketoField: String
  public var marketoValue: FieldValue
  public var dynamicsValue: FieldValue
  /// `marketo` or `dynamics`.
  public var winner: String
  /// Why: the field's `prefer` setting, or the default for its table.
  public var rule: String
}

/// What the Marketo side sends back to Dynamics, and how it changes the Marketo datasets.
public struct TwoWayOutcome: Sendable {
  public var marketo: MarketoDatasets
  public var outbound: [OutboundWrite]
  public var conflicts: [Conflict]
  public var rejects: [InputError]
}

/// Two-way sync of leads and contacts.
///
/// The rules, in `docs/sync-rules.md`:
/// - only fields mapped `both` are written back; company fields edited on a person stay local;
/// - a field changed on both sides since the last batch is a conflict: Marketo wins for leads,
///   Dynamics for contacts, unless the field's `prefer` says otherwise (`newest` compares the
///   row's `updatedAt` with the record's `modifiedon`);
/// - fields with `blockUpdatesFromCRM` keep the Marketo value when Dynamics changes them;
/// - a Marketo-only person with `syncToDynamics` becomes a new lead, once.
public struct TwoWaySync: Sendable {
  public var mapping: FieldMapping

  public init(mapping: FieldMapping = .standard) {
    self.mapping = mapping
  }

  /// Applies the Marketo-side edits onto the merged datasets and works out the Dynamics writes.
  ///
  /// - Parameters:
  ///   - edits: the rows of the Marketo changes file.
  ///   - merged: the Marketo datasets after this run's Dynamics changes.
  ///   - previous: the Marketo datasets of the last batch (what Marketo held then).
  ///   - dynamics: the org's state after this run's export.
  ///   - dynamicsChanges: the columns Dynamics changed this run, by record (echoes left out).
  ///   - pendingWrites: what dynsync wrote earlier and Dynamics does not show yet.
  /// - Returns: the Marketo datasets after the edits, the writes for Dynamics, conflicts and rejects.
  public func apply(
    edits: [MarketoEdit], merged: MarketoDatasets, previous: MarketoDatasets, dynamics: Snapshot,
    dynamicsChanges: [GUID: Set<String>], pendingWrites: [GUID: Record] = [:]
  ) -> TwoWayOutcome {
    var outcome = TwoWayOutcome(marketo: merged, outbound: [], conflicts: [], rejects: [])
    keepBlockedFields(&outcome.marketo, previous: previous)
    keepPendingWrites(&outcome.marketo, previous: previous, dynamics: dynamics, pending: pendingWrites)
    var writes: [GUID: OutboundWrite] = [:]
    var order: [GUID] = []
    var profiles = ColumnProfiles()

    for edit in edits {
      func reject(_ reason: String) {
        outcome.rejects.append(InputError(at: edit.position, entity: "person", recordID: edit.personID, reason: reason))
      }
      guard let personID = Int64(edit.personID) else {
        reject("\"\(edit.personID)\" is not a Marketo person id")
        continue
      }
      let key = String(personID)
      guard var person = outcome.marketo.persons.rows[key] else {
        if edit.requestsDynamicsCreate {
          createLead(for: edit, personID: personID, into: &outcome, writes: &writes, order: &order)
        } else {
          reject(
            "unknown person id \(personID): not a person dynsync created (a Marketo-only person needs syncToDynamics=true to be created as a lead)"
          )
        }
        continue
      }
      guard case .string(let type) = person[MarketoField.microsoftType], !type.isEmpty,
        case .string(let idText) = person[MarketoField.microsoftID], let id = GUID(idText)
      else {
        reject("person \(personID) does not exist in Dynamics (Microsoft Type is empty)")
        continue
      }
      guard person[MarketoField.microsoftIsDeleted] != .boolean(true) else {
        reject("person \(personID) was deleted in Dynamics; its edits are not written back")
        continue
      }
      let entity = type == "Lead" ? "lead" : "contact"
      let record = dynamics.tables[entity]?.records[id]
      let before = previous.persons.rows[key] ?? person
      let twoWay = mapping.fields(of: entity).filter { $0.direction == .both }
      let companyFields = Set(mapping.fields(of: "account").map(\.marketo) + [MarketoField.externalCompanyID])

      for column in edit.values.keys.sorted() where !MarketoEdit.rowColumns.contains(column) {
        guard let text = edit.values[column] else { continue }
        let choiceColumn =
          column.hasSuffix(MarketoField.choiceValueSuffix)
          ? String(column.dropLast(MarketoField.choiceValueSuffix.count)) : nil
        guard let field = twoWay.first(where: { $0.marketo == column || $0.marketo == choiceColumn }) else {
          if companyFields.contains(column) {
            // Company fields are one-way: the edit stays on the Marketo side until the account changes.
            if MarketoValues.text(before[column] ?? .null) != text { person[column] = .string(text) }
          } else if !column.hasPrefix("msft") && !column.hasPrefix("leadOwner") {
            reject("field \"\(column)\" is not mapped for write-back to Dynamics \(entity)s")
          }
          continue
        }
        // A choice is edited through its label or its value column; the value column wins when both changed.
        if choiceColumn == nil, let valueText = edit.values[column + MarketoField.choiceValueSuffix],
          valueText != MarketoValues.text(before[column + MarketoField.choiceValueSuffix] ?? .null)
        {
          continue
        }
        guard MarketoValues.text(before[column] ?? .null) != text else { continue }
        guard
          let value = dynamicsValue(
            text, byValue: choiceColumn != nil,
            column: profiles.profile(of: field.dynamics, in: entity, dynamics: dynamics))
        else {
          reject("field \"\(column)\": \"\(text)\" is not a value Dynamics \(entity).\(field.dynamics) can hold")
          continue
        }
        if dynamicsChanges[id]?.contains(field.dynamics) == true {
          let (winner, rule) = resolve(field, entity: entity, edit: edit, record: record)
          outcome.conflicts.append(
            Conflict(
              entity: entity, id: id, personID: personID, field: field.dynamics, marketoField: field.marketo,
              marketoValue: value, dynamicsValue: record?[field.dynamics] ?? .null, winner: winner, rule: rule))
          guard winner == "marketo" else { continue }
        }
        let labels: Labels = record?.labels[field.dynamics].map { [field.dynamics: $0] } ?? [:]
        var shown = Record(
          entity: entity, id: id, fields: [field.dynamics: value], labels: labels, origin: edit.position)
        if case .optionSet = value, choiceColumn == nil { shown.labels[field.dynamics] = text }
        for (name, marketoValue) in MarketoValues.mapped(shown, [field]) { person[name] = marketoValue }
        if value.isNull { person[field.marketo] = nil }
        if writes[id] == nil {
          writes[id] = OutboundWrite(method: .update, entity: entity, id: id, personID: personID, fields: [:])
          order.append(id)
        }
        writes[id]?.fields[field.dynamics] = value
      }
      outcome.marketo.persons.rows[key] = person
    }
    outcome.outbound = order.compactMap { writes[$0] }.filter { !$0.fields.isEmpty }
    return outcome
  }

  /// Fields blocked from CRM updates keep the value Marketo had, whatever Dynamics did.
  func keepBlockedFields(_ marketo: inout MarketoDatasets, previous: MarketoDatasets) {
    func blocked(_ entity: String) -> [String] {
      mapping.fields(of: entity).filter(\.blockUpdatesFromCRM).flatMap {
        [$0.marketo, $0.marketo + MarketoField.choiceValueSuffix]
      }
    }
    let blockedByType = ["Lead": blocked("lead"), "Contact": blocked("contact")]
    // Most mappings block nothing, and then no row need be looked at.
    guard blockedByType.values.contains(where: { !$0.isEmpty }) else { return }
    for (key, row) in marketo.persons.rows {
      // A row carried over as it was already has the values it had.
      guard let before = previous.persons.rows[key], !row.isIdentical(to: before),
        case .string(let type) = row[MarketoField.microsoftType]
      else { continue }
      for name in blockedByType[type == "Lead" ? "Lead" : "Contact"] ?? [] {
        switch (row[name], before[name]) {
        case (nil, nil): continue
        case (let value?, let kept?) where value.isIdentical(to: kept): continue
        case (_, let kept): marketo.persons.rows[key]?[name] = kept
        }
      }
    }
  }

  /// While a write is on its way to Dynamics, the Marketo value stands: Dynamics still shows the
  /// old value (or no lead yet, for a create), which is not a change to take back to Marketo.
  func keepPendingWrites(
    _ marketo: inout MarketoDatasets, previous: MarketoDatasets, dynamics: Snapshot, pending: [GUID: Record]
  ) {
    guard !pending.isEmpty else { return }
    var keyByDynamicsID: [String: String] = [:]
    for (key, row) in previous.persons.rows {
      if case .string(let id) = row[MarketoField.microsoftID] { keyByDynamicsID[id] = key }
    }
    for (id, write) in pending {
      guard let key = keyByDynamicsID[id.description], let before = previous.persons.rows[key] else { continue }
      guard dynamics.tables[write.entity]?.records[id] != nil else {
        marketo.persons.rows[key] = before
        continue
      }
      for field in mapping.fields(of: write.entity) where write.fields[field.dynamics] != nil {
        for name in [field.marketo, field.marketo + MarketoField.choiceValueSuffix] {
          marketo.persons.rows[key]?[name] = before[name]
        }
      }
    }
  }

  /// Who wins a conflict on `field`, and the rule that decided it.
  func resolve(_ field: FieldMapping.Field, entity: String, edit: MarketoEdit, record: Record?) -> (String, String) {
    switch field.prefer {
    case .marketo?: return ("marketo", "prefer: marketo")
    case .dynamics?: return ("dynamics", "prefer: dynamics")
    case .newest?:
      if let marketoTime = edit.updatedAt, case .dateTime(let dynamicsTime) = record?["modifiedon"] ?? .null {
        return marketoTime > dynamicsTime ? ("marketo", "prefer: newest") : ("dynamics", "prefer: newest")
      }
      fallthrough
    case nil:
      return entity == "lead" ? ("marketo", "Marketo wins for leads") : ("dynamics", "Dynamics wins for contacts")
    }
  }

  /// The Dynamics value for a Marketo text, typed like the column's values in the org.
  func dynamicsValue(_ text: String, byValue: Bool, column: ColumnProfile) -> FieldValue? {
    if text.isEmpty { return .null }
    switch column.sample {
    case .optionSet, .multiSelect:
      if byValue || Int64(text) != nil { return Int64(text).map(FieldValue.optionSet) }
      // A label: the choice whose label it is, as seen in the org's records.
      return column.valueByLabel[text]
    case .boolean:
      switch text.lowercased() {
      case "true", "1", "yes": return .boolean(true)
      case "false", "0", "no": return .boolean(false)
      default: return nil
      }
    case .integer: return Int64(text).map(FieldValue.integer)
    case .decimal: return ExactDecimal(text).map(FieldValue.decimal)
    case .date: return CalendarDate(text).map(FieldValue.date)
    case .dateTime: return Timestamp(iso: text).map(FieldValue.dateTime)
    default: return .string(text)
    }
  }

  /// A new lead for a Marketo-only person; its id is named after the person, so asking twice
  /// never makes two leads.
  func createLead(
    for edit: MarketoEdit, personID: Int64, into outcome: inout TwoWayOutcome, writes: inout [GUID: OutboundWrite],
    order: inout [GUID]
  ) {
    let id = GUID(naming: "dynsync-marketo-person|\(personID)")
    var fields = Fields()
    for field in mapping.fields(of: "lead") where field.direction == .both {
      guard let text = edit.values[field.marketo], !text.isEmpty else { continue }
      fields[field.dynamics] = .string(text)
    }
    var person = MarketoValues.mapped(
      Record(entity: "lead", id: id, fields: fields, origin: edit.position), mapping.fields(of: "lead"))
    person[MarketoField.personID] = .integer(personID)
    person[MarketoField.microsoftType] = .string("Lead")
    person[MarketoField.microsoftID] = .string(id.description)
    person[MarketoField.microsoftIsDeleted] = .boolean(false)
    person[MarketoField.syncing] = .boolean(true)
    outcome.marketo.persons.rows[String(personID)] = person
    writes[id] = OutboundWrite(method: .create, entity: "lead", id: id, personID: personID, fields: fields)
    order.append(id)
  }
}

/// What the org's records show of one column: a value (its type) and the value of each label.
struct ColumnProfile {
  var sample: FieldValue = .null
  var valueByLabel: [String: FieldValue] = [:]
}

/// Column profiles worked out once per run, so edits cost a lookup, not a pass over the table.
struct ColumnProfiles {
  private var profiles: [String: ColumnProfile] = [:]

  mutating func profile(of field: String, in entity: String, dynamics: Snapshot) -> ColumnProfile {
    let key = entity + "." + field
    if let known = profiles[key] { return known }
    var profile = ColumnProfile()
    if let records = dynamics.tables[entity]?.records {
      for record in records.values {
        let value = record[field]
        if profile.sample.isNull { profile.sample = value }
        if let label = record.labels[field], profile.valueByLabel[label] == nil { profile.valueByLabel[label] = value }
      }
    }
    profiles[key] = profile
    return profile
  }
}
