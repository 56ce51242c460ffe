extension MarketoMerge {
  /// Opportunities, one way from Dynamics, with the company they are for.
  ///
  /// The potential customer (`customerid`) is an account or a contact; for a contact the
  /// opportunity's company is the contact's account (none when the contact has none).
  func opportunities(_ dynamics: Snapshot, previous: MarketoDataset, accounts: [GUID: Record], rebuilt: RebuiltRows)
    -> MarketoDataset
  {
    let opportunities = dynamics.tables["opportunity"]?.records ?? [:]
    let contacts = dynamics.tables["contact"]?.records ?? [:]
    var (current, filtered) = filteredRows(
      of: rebuilt.records(of: opportunities), entity: "opportunity",
      key: MarketoField.externalOpportunityID)
    for (key, var row) in current {
      guard let id = GUID(key), let opportunity = opportunities[id] else { continue }
      if case .optionSet(let state) = opportunity["statecode"] {
        row["isClosed"] = .boolean(state != 0)
        row["isWon"] = .boolean(state == 1)
      }
      if let customer = MarketoValues.lookupID(opportunity, "customerid") {
        if customer.entity == "account" || accounts[customer.id] != nil {
          row[MarketoField.externalCompanyID] = .string(customer.id.description)
          row["msftCustomerType"] = .string("account")
        } else if let contact = contacts[customer.id] {
          row["msftCustomerType"] = .string("contact")
          row["msftCustomerContactId"] = .string(contact.id.description)
          if let company = MarketoValues.lookupID(contact, "parentcustomerid"), accounts[company.id] != nil {
            row[MarketoField.externalCompanyID] = .string(company.id.description)
          }
        }
      } else if let account = MarketoValues.lookupID(opportunity, "parentaccountid") {
        row[MarketoField.externalCompanyID] = .string(account.id.description)
      }
      current[key] = row
    }
    return carryOver(
      previous, current: current, isPresent: { GUID($0).map { opportunities[$0] != nil } ?? false },
      filtered: filtered, rebuilds: rebuilt.ownRow)
  }

  /// Opportunity roles: the potential customer when it is a contact, and one per stakeholder.
  ///
  /// Stakeholders are `connection` rows from an opportunity to a contact, or `customeropportunityrole` rows.
  /// Only contacts that are persons get roles; a role that disappears stays, flagged deleted.
  func roles(_ dynamics: Snapshot, previous: MarketoDataset, persons: PersonRegistry, rebuilt: RebuiltRows)
    -> MarketoDataset
  {
    let opportunities = dynamics.tables["opportunity"]?.records ?? [:]
    var current: [String: MarketoRow] = [:]
    func add(opportunity: GUID, contact: GUID, role: String, isPrimary: Bool) {
      guard let opportunityRecord = opportunities[opportunity], MarketoValues.passesFilter(opportunityRecord),
        let personID = persons[contact]
      else { return }
      let key = "\(opportunity)|\(personID)|\(role)"
      current[key] = [
        MarketoField.recordID: .string(key), MarketoField.externalOpportunityID: .string(opportunity.description),
        "leadId": .integer(personID), "role": .string(role), "isPrimary": .boolean(isPrimary),
        "msftContactId": .string(contact.description), MarketoField.microsoftIsDeleted: .boolean(false),
        MarketoField.syncing: .boolean(true),
      ]
    }
    for opportunity in rebuilt.records(of: opportunities) {
      if let customer = MarketoValues.lookupID(opportunity, "customerid"), customer.entity != "account" {
        add(opportunity: opportunity.id, contact: customer.id, role: "Potential Customer", isPrimary: true)
      }
    }
    for connection in (dynamics.tables["connection"]?.records ?? [:]).values {
      guard let from = MarketoValues.lookupID(connection, "record1id"), rebuilt.contains(from.id),
        opportunities[from.id] != nil,
        let to = MarketoValues.lookupID(connection, "record2id")
      else { continue }
      add(
        opportunity: from.id, contact: to.id, role: connection.labels["record2roleid"] ?? "Stakeholder",
        isPrimary: false)
    }
    for role in (dynamics.tables["customeropportunityrole"]?.records ?? [:]).values {
      guard let opportunity = MarketoValues.lookupID(role, "opportunityid"),
        rebuilt.contains(opportunity.id), let contact = MarketoValues.lookupID(role, "customerid")
      else { continue }
      add(
        opportunity: opportunity.id, contact: contact.id, role: role.labels["customerroleid"] ?? "Stakeholder",
        isPrimary: false)
    }
    // A role's row is its opportunity's; one that is not current any more is gone from Dynamics.
    return carryOver(
      previous, current: current, isPresent: { current[$0] != nil }, filtered: [],
      rebuilds: { key, row in
        guard case .string(let opportunity) = row[MarketoField.externalOpportunityID] else {
          return rebuilt.ownRow(key, row)
        }
        return rebuilt.contains(key: opportunity)
      })
  }
}
