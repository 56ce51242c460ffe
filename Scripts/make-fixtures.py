#!/usr/bin/env python3
"""Writes the inputs of the regression fixture cases under Fixtures/ (one case per sync rule).

Each case gets case.json and its numbered exports; `dynsync fixtures record Fixtures` then writes
expected/, to be read and checked before committing. Cases written by hand can sit beside these.

    python3 Scripts/make-fixtures.py && dynsync fixtures record Fixtures
"""
import json
import os
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures")
ORG = "https://contoso.crm.dynamics.com/api/data/v9.2/"
FV = "@OData.Community.Display.V1.FormattedValue"
LLN = "@Microsoft.Dynamics.CRM.lookuplogicalname"
SETS = {"lead": "leads", "contact": "contacts", "account": "accounts", "systemuser": "systemusers", "team": "teams",
        "teammembership": "teammemberships", "opportunity": "opportunities", "connection": "connections",
        "cr123_project": "cr123_projects", "cr123_task": "cr123_tasks"}


def named_guid(name):
    """dynsync's name-based id (GUID(naming:)): two 64-bit FNV-1a hashes, seeded apart."""
    high, low, prime, mask = 0xCBF29CE484222325, 0x6C62272E07BB0142, 0x100000001B3, (1 << 64) - 1
    for byte in name.encode("utf-8"):
        high = ((high ^ byte) * prime) & mask
        low = ((low ^ byte) * prime) & mask
    text = "%016x%016x" % (high, low)
    return "-".join((text[:8], text[8:12], text[12:16], text[16:20], text[20:]))


def gid(kind, n):
    return "%08x-0000-0000-0000-%012x" % (kind, n)


LEAD, CONTACT, ACCOUNT, USER, TEAM, OPP, PROJECT, TASK, CONNECTION = 0x1D, 0xC0, 0xAC, 0x05, 0x7E, 0x0F, 0xC1, 0xC2, 0xCE


def lookup(target, ident, label=None):
    return ("lookup", target, ident, label)


def choice(value, label):
    return ("choice", value, label)


def row(entity, ident, **fields):
    out = {}
    for key, value in fields.items():
        if isinstance(value, tuple) and value[0] == "lookup":
            _, target, ref, label = value
            if label:
                out[f"_{key}_value{FV}"] = label
            out[f"_{key}_value{LLN}"] = target
            out[f"_{key}_value"] = ref
        elif isinstance(value, tuple) and value[0] == "choice":
            out[key + FV] = value[2]
            out[key] = value[1]
        else:
            out[key] = value
    out[entity + "id"] = ident
    return out


def page(folder, entity, rows, delta=False, deleted=()):
    os.makedirs(folder, exist_ok=True)
    set_name = SETS[entity]
    doc = {"@odata.context": f"{ORG}$metadata#{set_name}" + ("/$delta" if delta else "")}
    if delta:
        doc["@odata.deltaLink"] = f"{ORG}{set_name}?$deltatoken=1"
    doc["value"] = rows + [{"@odata.context": f"{ORG}$metadata#{set_name}/$deletedEntity", "id": i, "reason": "deleted"}
                           for i in deleted]
    with open(os.path.join(folder, set_name + ".json"), "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=2, ensure_ascii=False)
        out.write("\n")


def marketo(folder, header, rows):
    """A Marketo lead export (CSV) of the persons edited on the Marketo side."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "marketo-changes.csv"), "w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + "\r\n")
        for row in rows:
            out.write(",".join('"%s"' % c.replace('"', '""') if "," in c or '"' in c else c for c in row) + "\r\n")


def case(name, description, rule=None, exports=(), **options):
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    # Inputs are rewritten; expected/ is left for `dynsync fixtures record` (or verify) to judge.
    for entry in os.listdir(folder):
        if entry[:1].isdigit():
            shutil.rmtree(os.path.join(folder, entry))
    definition = {"description": description}
    if rule:
        definition["rule"] = rule
    definition.update(options)
    with open(os.path.join(folder, "case.json"), "w", encoding="utf-8") as out:
        json.dump(definition, out, indent=2, ensure_ascii=False)
        out.write("\n")
    for export_name, pages in exports:
        for item in pages:
            if item[0] == "marketo":
                marketo(os.path.join(folder, export_name), item[1], item[2])
                continue
            entity, rows, extra = item
            page(os.path.join(folder, export_name), entity, rows, **extra)


def p(entity, rows, **extra):
    return (entity, rows, extra)


ana = dict(firstname="Ana", lastname="Ruiz", emailaddress1="ana@litware.example")
ben = dict(firstname="Ben", lastname="Okafor", emailaddress1="ben@fabrikam.example")
litware = row("account", gid(ACCOUNT, 1), name="Litware", industrycode=choice(7, "Consulting"), revenue=20000.0)
sam = row("systemuser", gid(USER, 1), firstname="Sam", lastname="Admin", fullname="Sam Admin",
          internalemailaddress="sam@contoso.example")


def main():
    case("sync-filter", "new_synctomkto absent, empty or Yes syncs a lead; No keeps it out", "sync filter", [
        ("01-initial", [p("lead", [
            row("lead", gid(LEAD, 1), lastname="Absent"),
            row("lead", gid(LEAD, 2), lastname="Empty", new_synctomkto=None),
            row("lead", gid(LEAD, 3), lastname="Yes", new_synctomkto=True),
            row("lead", gid(LEAD, 4), lastname="No", new_synctomkto=False)])])])
    case("filter-yes-to-no", "a synced contact whose filter turns No stays, frozen, not syncing", "filter Yes → No", [
        ("01-initial", [p("contact", [row("contact", gid(CONTACT, 1), **ana, new_synctomkto=True)])]),
        ("02-filter-no", [p("contact", [row("contact", gid(CONTACT, 1), **dict(ana, jobtitle="CFO"), new_synctomkto=False)])])])
    case("filter-no-to-yes", "a lead whose filter turns Yes is created; a frozen one is updated again", "filter No → Yes", [
        ("01-initial", [p("lead", [row("lead", gid(LEAD, 1), **ana, new_synctomkto=False),
                                   row("lead", gid(LEAD, 2), **ben, new_synctomkto=True)])]),
        ("02-flip", [p("lead", [row("lead", gid(LEAD, 1), **ana, new_synctomkto=True),
                                row("lead", gid(LEAD, 2), **ben, new_synctomkto=False)])]),
        ("03-back", [p("lead", [row("lead", gid(LEAD, 1), **ana, new_synctomkto=True),
                                row("lead", gid(LEAD, 2), **dict(ben, jobtitle="Buyer"), new_synctomkto=True)])])])
    case("delete", "deleted in Dynamics (absent from a full export, or in a delta): flagged, never removed", "delete", [
        ("01-initial", [p("contact", [row("contact", gid(CONTACT, 1), **ana), row("contact", gid(CONTACT, 2), **ben)]),
                        p("lead", [row("lead", gid(LEAD, 1), lastname="Lead")])]),
        ("02-full-without-one", [p("contact", [row("contact", gid(CONTACT, 1), **ana)])]),
        ("03-delta-delete", [p("lead", [], delta=True, deleted=[gid(LEAD, 1)])])],
        massDeleteThreshold=1.0)
    case("no-deduplication", "two leads with one email address stay two persons", "no de-duplication", [
        ("01-initial", [p("lead", [row("lead", gid(LEAD, 1), **ana), row("lead", gid(LEAD, 2), **ana)])])])
    case("person-ids", "person ids are handed out once, contacts first, and kept", "person ids", [
        ("01-initial", [p("lead", [row("lead", gid(LEAD, 2), lastname="L2"), row("lead", gid(LEAD, 1), lastname="L1")]),
                        p("contact", [row("contact", gid(CONTACT, 1), lastname="C1")])]),
        ("02-new-lead", [p("lead", [row("lead", gid(LEAD, 1), lastname="L1"), row("lead", gid(LEAD, 2), lastname="L2"),
                                    row("lead", gid(LEAD, 0), lastname="L0")])])])
    for lead_yes, contact_yes in ((True, True), (False, True), (True, False), (False, False)):
        name = "qualification-%s-%s" % ("yes" if lead_yes else "no", "yes" if contact_yes else "no")
        case(name, "a lead qualified into a contact, lead filter %s, contact filter %s" % (
            "Yes" if lead_yes else "No", "Yes" if contact_yes else "No"), "qualification", [
            ("01-open-lead", [p("lead", [row("lead", gid(LEAD, 1), **ana, statecode=choice(0, "Open"),
                                             new_synctomkto=lead_yes)])]),
            ("02-qualified", [p("lead", [row("lead", gid(LEAD, 1), **ana, statecode=choice(1, "Qualified"),
                                             statuscode=choice(3, "Qualified"), new_synctomkto=lead_yes)]),
                              p("contact", [row("contact", gid(CONTACT, 1), **ana, new_synctomkto=contact_yes,
                                                originatingleadid=lookup("lead", gid(LEAD, 1)))])])])
    case("owner", "a user owner fills the owner fields; a team owner leaves them empty and is recorded", "owner", [
        ("01-initial", [p("systemuser", [sam]), p("team", [row("team", gid(TEAM, 1), name="Sales", teamtype=choice(0, "Owner"))]),
                        p("lead", [row("lead", gid(LEAD, 1), lastname="User-owned", ownerid=lookup("systemuser", gid(USER, 1), "Sam Admin")),
                                   row("lead", gid(LEAD, 2), lastname="Team-owned", ownerid=lookup("team", gid(TEAM, 1), "Sales"))])])])
    case("company-fields", "a contact's person shows its account's company fields; a lead keeps its own", "company fields", [
        ("01-initial", [p("account", [litware]),
                        p("contact", [row("contact", gid(CONTACT, 1), **ana, parentcustomerid=lookup("account", gid(ACCOUNT, 1), "Litware"))]),
                        p("lead", [row("lead", gid(LEAD, 1), **ben, companyname="Fabrikam", revenue=5000.0)])])])
    case("account-change-flows-to-persons", "an account edit reaches every person of the account", "account change flows to persons", [
        ("01-initial", [p("account", [litware]),
                        p("contact", [row("contact", gid(CONTACT, n), lastname="P%d" % n,
                                          parentcustomerid=lookup("account", gid(ACCOUNT, 1))) for n in (1, 2, 3)])]),
        ("02-renamed", [p("account", [dict(litware, name="Litware International")])])])
    case("companies", "one company per synced account; an account with the filter No is left out", "companies", [
        ("01-initial", [p("account", [litware, row("account", gid(ACCOUNT, 2), name="Hidden", new_synctomkto=False)])])])
    case("sales-users", "one sales user per systemuser", "sales users", [
        ("01-initial", [p("systemuser", [sam, row("systemuser", gid(USER, 2), firstname="Ida", lastname="Novak",
                                                   internalemailaddress="ida@contoso.example", isdisabled=True)])])])
    case("teams", "teams with their members; a membership change updates the team", "teams", [
        ("01-initial", [p("systemuser", [sam]), p("team", [row("team", gid(TEAM, 1), name="Sales", teamtype=choice(0, "Owner"))]),
                        p("teammembership", [row("teammembership", gid(0x7E00, 1), teamid=gid(TEAM, 1), systemuserid=gid(USER, 1))])]),
        ("02-member-added", [p("systemuser", [sam, row("systemuser", gid(USER, 2), lastname="Novak")]),
                             p("teammembership", [row("teammembership", gid(0x7E00, 1), teamid=gid(TEAM, 1), systemuserid=gid(USER, 1)),
                                                  row("teammembership", gid(0x7E00, 2), teamid=gid(TEAM, 1), systemuserid=gid(USER, 2))])])])
    contact_in_litware = row("contact", gid(CONTACT, 1), **ana, parentcustomerid=lookup("account", gid(ACCOUNT, 1), "Litware"))
    case("opportunity-customer-contact", "a contact as potential customer: a role, and the contact's company", "opportunity customer contact", [
        ("01-initial", [p("account", [litware]), p("contact", [contact_in_litware]),
                        p("opportunity", [row("opportunity", gid(OPP, 1), name="Renewal", estimatedvalue=12000.0,
                                              statecode=choice(0, "Open"), customerid=lookup("contact", gid(CONTACT, 1)))])])])
    case("opportunity-customer-account", "an account as potential customer: the company, no role", "opportunity customer account", [
        ("01-initial", [p("account", [litware]), p("contact", [contact_in_litware]),
                        p("opportunity", [row("opportunity", gid(OPP, 1), name="Expansion", statecode=choice(1, "Won"),
                                              actualclosedate="2025-11-03", customerid=lookup("account", gid(ACCOUNT, 1)))])])])
    case("stakeholders", "each stakeholder connection gives the contact a role on the opportunity", "stakeholders", [
        ("01-initial", [p("account", [litware]), p("contact", [contact_in_litware, row("contact", gid(CONTACT, 2), **ben)]),
                        p("opportunity", [row("opportunity", gid(OPP, 1), name="Expansion", customerid=lookup("account", gid(ACCOUNT, 1)))]),
                        p("connection", [row("connection", gid(CONNECTION, 1), record1id=lookup("opportunity", gid(OPP, 1)),
                                             record2id=lookup("contact", gid(CONTACT, 2)),
                                             record2roleid=lookup("connectionrole", gid(0xC0DE, 1), "Decision Maker"))])])])
    case("custom-tables", "a custom table linked to an account becomes a custom object", "custom tables", [
        ("01-initial", [p("account", [litware]),
                        p("cr123_project", [row("cr123_project", gid(PROJECT, 1), cr123_name="Rollout", cr123_budget=15000.5,
                                                cr123_phase=choice(100000001, "Delivery"),
                                                cr123_accountid=lookup("account", gid(ACCOUNT, 1), "Litware"))])])])
    case("custom-link-depth", "custom rows linked two levels deep sync; deeper or unlinked ones do not", "custom link depth", [
        ("01-initial", [p("contact", [row("contact", gid(CONTACT, 1), **ana)]),
                        p("cr123_project", [row("cr123_project", gid(PROJECT, 1), cr123_name="Rollout",
                                                cr123_contactid=lookup("contact", gid(CONTACT, 1)))]),
                        p("cr123_task", [row("cr123_task", gid(TASK, 1), cr123_name="Kick-off", cr123_projectid=lookup("cr123_project", gid(PROJECT, 1))),
                                         row("cr123_task", gid(TASK, 2), cr123_name="Sub-task", cr123_parenttaskid=lookup("cr123_task", gid(TASK, 1))),
                                         row("cr123_task", gid(TASK, 3), cr123_name="Orphan")])])])
    case("choice-labels", "choices as labels with their values; multi-selects as ;-joined labels", "choice labels", [
        ("01-initial", [p("lead", [row("lead", gid(LEAD, 1), lastname="Labelled", leadsourcecode=choice(8, "Web"),
                                       leadqualitycode=choice(1, "Hot"))]),
                        p("contact", [dict(row("contact", gid(CONTACT, 1), lastname="Multi"),
                                           **{"new_interests" + FV: "Hiking; Skiing", "new_interests": "2,8"})])])],
        mapping={"entities": {"contact": [{"dynamics": "new_interests", "marketo": "interests", "direction": "both"}]}})
    case("field-mapping", "a mapping file adds, replaces and removes fields", "field mapping", [
        ("01-initial", [p("contact", [row("contact", gid(CONTACT, 1), **ana, jobtitle="CFO", new_region="EMEA", mobilephone="+1-555-0100")])])],
        mapping={"entities": {"contact": [{"dynamics": "new_region", "marketo": "region", "direction": "both"},
                                          {"dynamics": "jobtitle", "marketo": "jobTitle", "direction": "both"},
                                          {"dynamics": "mobilephone", "marketo": ""}]}})
    lead1 = row("lead", gid(LEAD, 1), **ana, jobtitle="Analyst", statecode=choice(0, "Open"))
    contact1 = row("contact", gid(CONTACT, 1), **ben, jobtitle="Buyer")
    header = ["id", "updatedAt", "email", "firstName", "lastName", "title"]
    case("marketo-edit-written-back", "a lead field edited in Marketo only becomes a PATCH", "marketo edit written back", [
        ("01-initial", [p("lead", [lead1])]),
        ("02-marketo-edit", [("marketo", header, [["1", "2025-12-02T10:00:00Z", "ana@litware.example", "Ana", "Ruiz", "Head of Analytics"]])])])
    case("dynamics-edit-merged", "a field edited in Dynamics only updates the person", "dynamics edit merged", [
        ("01-initial", [p("contact", [contact1])]),
        ("02-dynamics-edit", [p("contact", [dict(contact1, jobtitle="Chief Buyer")])])])
    case("conflict-lead-marketo-wins", "a lead field edited on both sides: Marketo's value wins, the conflict is written", "conflict lead", [
        ("01-initial", [p("lead", [lead1])]),
        ("02-both-edit", [p("lead", [dict(lead1, jobtitle="Data Lead")]),
                          ("marketo", header, [["1", "2025-12-02T10:00:00Z", "ana@litware.example", "Ana", "Ruiz", "Head of Analytics"]])])])
    case("conflict-contact-dynamics-wins", "a contact field edited on both sides: Dynamics' value wins, the conflict is written", "conflict contact", [
        ("01-initial", [p("contact", [contact1])]),
        ("02-both-edit", [p("contact", [dict(contact1, jobtitle="Chief Buyer")]),
                          ("marketo", header, [["1", "2025-12-02T10:00:00Z", "ben@fabrikam.example", "Ben", "Okafor", "Procurement Lead"]])])])
    case("blocked-field", "a field blocked from CRM updates keeps the Marketo value", "blocked field", [
        ("01-initial", [p("contact", [contact1])]),
        ("02-dynamics-edit", [p("contact", [dict(contact1, jobtitle="Chief Buyer", telephone1="+1-555-0199")])])],
        mapping={"entities": {"contact": [{"dynamics": "jobtitle", "marketo": "title", "direction": "both", "blockUpdatesFromCRM": True}]}})
    case("echo-suppression", "dynsync's own write coming back in the next export is no change", "echo suppression", [
        ("01-initial", [p("lead", [lead1])]),
        ("02-marketo-edit", [("marketo", header, [["1", "2025-12-02T10:00:00Z", "ana@litware.example", "Ana", "Ruiz", "Head of Analytics"]])]),
        ("03-not-yet-written", [p("lead", [lead1])]),
        ("04-echo", [p("lead", [dict(lead1, jobtitle="Head of Analytics")])])])
    case("unknown-person-rejected", "a row for a person dynsync does not know, and an unmapped field, are rejected", "unknown person", [
        ("01-initial", [p("lead", [lead1])]),
        ("02-marketo-edit", [("marketo", header + ["favoriteColor"], [
            ["999", "2025-12-02T10:00:00Z", "x@example.com", "X", "Unknown", "CEO", ""],
            ["1", "2025-12-02T10:00:00Z", "ana@litware.example", "Ana", "Ruiz", "Analyst", "teal"]])])])
    case("marketo-only-person-created", "a Marketo-only person asking to sync becomes one new lead, never two", "marketo-only person", [
        ("01-initial", [p("lead", [lead1])]),
        ("02-sync-request", [("marketo", ["id", "updatedAt", "msftType", "syncToDynamics", "email", "firstName", "lastName"], [
            ["5000", "2025-12-02T10:00:00Z", "", "true", "zoe@new.example", "Zoe", "Park"]])]),
        ("03-not-yet-created", [p("lead", [lead1])]),
        ("04-lead-arrives", [p("lead", [lead1, row("lead", named_guid("dynsync-marketo-person|5000"), emailaddress1="zoe@new.example", firstname="Zoe", lastname="Park")])])])
    case("company-edits-stay-local", "a company field edited on a person stays until the account changes in Dynamics",
         "company edits stay local", [
        ("01-initial", [p("account", [litware]), p("contact", [contact_in_litware])]),
        ("02-marketo-edit", [("marketo", ["id", "updatedAt", "company"], [["1", "2025-12-02T10:00:00Z", "Litware (EMEA)"]])]),
        ("03-contact-edit", [p("contact", [dict(contact_in_litware, jobtitle="CFO")])]),
        ("04-account-edit", [p("account", [dict(litware, name="Litware Group")])])])
    case("mass-delete-guard", "a full export missing most of a table is refused; nothing is written", None, [
        ("01-initial", [p("lead", [row("lead", gid(LEAD, n), lastname="L%d" % n) for n in range(1, 11)])]),
        ("02-truncated", [p("lead", [row("lead", gid(LEAD, 1), lastname="L1")])])])


if __name__ == "__main__":
    main()
