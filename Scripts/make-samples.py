#!/usr/bin/env python3
"""Writes Samples/contoso: a small, realistic Dynamics 365 org exported twice.

The same org is written as Web API JSON pages, FetchXML result XML and a Configuration
Migration tool data.xml + data_schema.xml. Deterministic: the same script writes the same bytes.

    python3 Scripts/make-samples.py            # rewrites Samples/contoso
"""
import json
import os
import random
import shutil
import uuid
from xml.sax.saxutils import escape, quoteattr

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Samples", "contoso")
ORG = "https://contoso.crm.dynamics.com/api/data/v9.2/"
FV = "@OData.Community.Display.V1.FormattedValue"
LLN = "@Microsoft.Dynamics.CRM.lookuplogicalname"

FIRST = ["Ana", "Ben", "Chloe", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jade", "Kenji", "Lena",
         "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Yara", "Zoe"]
LAST = ["Ruiz", "Okafor", "Nguyen", "Schmidt", "Kowalski", "Haddad", "Larsen", "Moreau", "Tanaka", "Silva",
        "O'Brien", "Müller", "Novak", "Rossi", "Dubois", "Khan", "Andersson", "Costa", "Ibrahim", "Park"]
COMPANY = ["Litware", "Fabrikam", "Adventure Works", "Northwind Traders", "Tailspin Toys", "Wingtip Toys",
           "Woodgrove Bank", "Proseware", "Lucerne Publishing", "Contoso Pharmaceuticals", "Alpine Ski House",
           "Blue Yonder Airlines", "Coho Winery", "Fourth Coffee", "Graphic Design Institute", "Humongous Insurance",
           "Margie's Travel", "Southridge Video", "Trey Research", "Wide World Importers"]
SUFFIX = ["Inc.", "Ltd", "GmbH", "S.A.", "& Co", "LLC"]
CITY = [("Seattle", "WA", "USA"), ("Lyon", "", "France"), ("Munich", "BY", "Germany"), ("Osaka", "", "Japan"),
        ("Austin", "TX", "USA"), ("Toronto", "ON", "Canada"), ("Porto", "", "Portugal")]
INDUSTRY = {1: "Accounting", 7: "Consulting", 16: "Financial", 20: "Manufacturing", 33: "Wholesale"}
LEADSOURCE = {1: "Advertisement", 2: "Employee Referral", 6: "Seminar", 7: "Trade Show", 8: "Web"}
RATING = {1: "Hot", 2: "Warm", 3: "Cold"}
INTERESTS = {100000000: "Analytics", 100000001: "Cloud", 100000002: "Security", 100000003: "Training"}
PHASE = {100000000: "Planning", 100000001: "Delivery", 100000002: "Closed"}


def gid(kind, n):
    return str(uuid.UUID(int=(kind << 96) | n))


class Org:
    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.version = 5_000_000
        self.users, self.teams, self.members = [], [], []
        self.accounts, self.contacts, self.leads, self.opps, self.projects = [], [], [], [], []

    def v(self):
        self.version += self.rnd.randint(1, 40)
        return self.version

    def when(self, day):
        return "2025-%02d-%02dT%02d:%02d:00Z" % (1 + day // 28 % 12, 1 + day % 28, 8 + day % 9, (day * 7) % 60)

    def build(self):
        r = self.rnd
        for n in range(1, 7):
            f, l = FIRST[n * 3 % len(FIRST)], LAST[n * 5 % len(LAST)]
            self.users.append(dict(id=gid(0x5A5A, n), fullname=f"{f} {l}", firstname=f, lastname=l,
                                   internalemailaddress=f"{f.lower()}.{l.lower().replace(chr(39), '')}@contoso.example",
                                   isdisabled=(n == 6), versionnumber=self.v()))
        for n, (name, members) in enumerate([("Enterprise Sales", [1, 2, 3]), ("Inside Sales", [3, 4, 5])], 1):
            team = dict(id=gid(0x7E7E, n), name=name, teamtype=0, versionnumber=self.v())
            self.teams.append(team)
            for m in members:
                self.members.append(dict(id=gid(0x7E00 + n, m), teamid=team["id"], systemuserid=gid(0x5A5A, m),
                                         versionnumber=self.v()))
        for n in range(1, 41):
            city = CITY[n % len(CITY)]
            ind = list(INDUSTRY)[n % len(INDUSTRY)]
            owner = ("team", gid(0x7E7E, 1 + n % 2)) if n % 9 == 0 else ("systemuser", gid(0x5A5A, 1 + n % 5))
            self.accounts.append(dict(
                id=gid(0xAAAA, n), name=f"{COMPANY[n % len(COMPANY)]} {SUFFIX[n % len(SUFFIX)]}" + (f" ({n})" if n > 20 else ""),
                accountnumber=f"AC-{1000 + n}", industrycode=ind, numberofemployees=r.choice([12, 45, 250, 1200, 8000]),
                revenue="%d.0000" % (r.randint(2, 900) * 25000), websiteurl=f"https://www.company{n}.example",
                telephone1=f"+1-555-01{n:02d}", address1_city=city[0], address1_stateorprovince=city[1] or None,
                address1_country=city[2], owner=owner, new_synctomkto=None if n % 4 else True,
                createdon=self.when(n), versionnumber=self.v()))
        for n in range(1, 91):
            f, l = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
            acct = self.accounts[(n * 3) % len(self.accounts)]
            self.contacts.append(dict(
                id=gid(0xCCCC, n), firstname=f, lastname=l, fullname=f"{f} {l}",
                emailaddress1=f"{f.lower()}.{l.lower().replace(chr(39), '').replace('ü', 'ue')}{n}@{acct['websiteurl'][12:]}",
                jobtitle=r.choice(["CFO", "IT Director", "Buyer", "Marketing Manager", "Engineer", None]),
                telephone1=f"+1-555-02{n:02d}", parentcustomerid=acct["id"], parentcustomername=acct["name"],
                birthdate=("19%02d-%02d-%02d" % (60 + n % 35, 1 + n % 12, 1 + n % 28)) if n % 3 == 0 else None,
                donotemail=(n % 11 == 0), new_synctomkto=False if n % 13 == 0 else (None if n % 2 else True),
                new_interests=sorted(r.sample(list(INTERESTS), 1 + n % 3)) if n % 5 == 0 else None,
                originatingleadid=None, owner=("systemuser", gid(0x5A5A, 1 + n % 5)), statecode=0,
                createdon=self.when(n + 40), versionnumber=self.v()))
        for n in range(1, 71):
            f, l = FIRST[(n * 2) % len(FIRST)], LAST[(n * 3 + 1) % len(LAST)]
            owner = ("team", gid(0x7E7E, 2)) if n % 10 == 0 else ("systemuser", gid(0x5A5A, 1 + n % 5))
            self.leads.append(dict(
                id=gid(0x1D2C, n), firstname=f, lastname=l, fullname=f"{f} {l}", companyname=f"{COMPANY[(n * 3) % len(COMPANY)]}",
                emailaddress1=f"{f.lower()}.{l.lower().replace(chr(39), '').replace('ü', 'ue')}.{n}@mail.example",
                subject=r.choice(["Pricing request", "Webinar follow-up", "Trial sign-up", "Partner enquiry"]),
                leadsourcecode=list(LEADSOURCE)[n % len(LEADSOURCE)], leadqualitycode=1 + n % 3,
                revenue=("%d.0000" % (r.randint(1, 50) * 10000)) if n % 2 else None,
                estimatedclosedate=("2026-%02d-15" % (1 + n % 12)) if n % 4 == 0 else None,
                new_synctomkto=False if n % 17 == 0 else None, statecode=0, statuscode=1 + n % 2, owner=owner,
                createdon=self.when(n + 130), versionnumber=self.v()))
        for n in range(1, 36):
            acct = self.accounts[(n * 5) % len(self.accounts)]
            by_contact = n % 3 == 0
            customer = ("contact", self.contacts[(n * 7) % len(self.contacts)]["id"]) if by_contact else ("account", acct["id"])
            state = 0 if n % 5 else 1
            self.opps.append(dict(
                id=gid(0x0FF0, n), name=f"{acct['name']} — {r.choice(['Renewal', 'Expansion', 'New licences', 'Services'])}",
                estimatedvalue="%d.0000" % (r.randint(5, 400) * 1000), closeprobability=r.choice([10, 25, 50, 75, 90]),
                estimatedclosedate="2026-%02d-%02d" % (1 + n % 12, 1 + n % 28), stepname=r.choice(["1-Qualify", "2-Develop", "3-Propose"]),
                customer=customer, statecode=state, statuscode=1 if state == 0 else 3,
                actualclosedate=("2025-11-%02d" % (1 + n % 20)) if state == 1 else None,
                owner=("systemuser", gid(0x5A5A, 1 + n % 5)), createdon=self.when(n + 200), versionnumber=self.v()))
        for n in range(1, 26):
            acct = self.accounts[(n * 2) % len(self.accounts)]
            self.projects.append(dict(
                id=gid(0xC123, n), cr123_name=f"Project {n:03d} for {acct['name']}", cr123_accountid=acct["id"],
                cr123_accountname=acct["name"], cr123_budget="%d.50" % (r.randint(10, 99) * 1000),
                cr123_phase=list(PHASE)[n % 3], cr123_startdate="2025-%02d-01" % (1 + n % 12),
                versionnumber=self.v()))
        return self

    def next_export(self):
        """Changes of one week in the org: creates, updates, deletes, a qualification."""
        r = self.rnd
        a = self.accounts
        a[2]["name"] = a[2]["name"] + " International"
        a[2]["versionnumber"] = self.v()
        a[5]["numberofemployees"] = 1500
        a[5]["versionnumber"] = self.v()
        for n in range(41, 44):
            self.accounts.append(dict(
                id=gid(0xAAAA, n), name=f"New Prospect {n} Ltd", accountnumber=f"AC-{1000 + n}", industrycode=7,
                numberofemployees=30, revenue="125000.0000", websiteurl=f"https://www.prospect{n}.example",
                telephone1=f"+1-555-01{n:02d}", address1_city="Seattle", address1_stateorprovince="WA",
                address1_country="USA", owner=("systemuser", gid(0x5A5A, 1)), new_synctomkto=None,
                createdon="2025-12-01T09:00:00Z", versionnumber=self.v()))
        for c in self.contacts[3:8]:
            c["jobtitle"] = "VP Finance"
            c["versionnumber"] = self.v()
        self.contacts[9]["new_synctomkto"] = False   # Yes -> No: stays in Marketo, frozen
        self.contacts[9]["versionnumber"] = self.v()
        self.contacts[12]["new_synctomkto"] = True   # No -> Yes: created or updated in Marketo
        self.contacts[12]["versionnumber"] = self.v()
        del self.contacts[40]                        # deleted in Dynamics
        lead = self.leads[4]                         # qualified into a contact
        lead.update(statecode=1, statuscode=3, versionnumber=self.v())
        acct = self.accounts[0]
        self.contacts.append(dict(
            id=gid(0xCCCC, 91), firstname=lead["firstname"], lastname=lead["lastname"], fullname=lead["fullname"],
            emailaddress1=lead["emailaddress1"], jobtitle=None, telephone1=None, parentcustomerid=acct["id"],
            parentcustomername=acct["name"], birthdate=None, donotemail=False, new_synctomkto=None, new_interests=None,
            originatingleadid=lead["id"], owner=lead["owner"] if lead["owner"][0] == "systemuser" else ("systemuser", gid(0x5A5A, 1)),
            statecode=0, createdon="2025-12-02T10:00:00Z", versionnumber=self.v()))
        del self.leads[20]
        del self.leads[30]
        o = self.opps[1]
        o.update(statecode=1, statuscode=3, actualclosedate="2025-12-03", closeprobability=100, versionnumber=self.v())
        self.projects[0]["cr123_phase"] = 100000002
        self.projects[0]["versionnumber"] = self.v()
        self.members.append(dict(id=gid(0x7E01, 6), teamid=gid(0x7E7E, 1), systemuserid=gid(0x5A5A, 6), versionnumber=self.v()))
        return self


# ---------------------------------------------------------------- Web API JSON

def user_name(org, kind, ident):
    pool = org.users if kind == "systemuser" else org.teams
    rec = next(x for x in pool if x["id"] == ident)
    return rec.get("fullname") or rec["name"]


def lookup(row, org, field, kind, ident, label=None):
    if label is not None:
        row[f"_{field}_value{FV}"] = label
    row[f"_{field}_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] = field
    row[f"_{field}_value{LLN}"] = kind
    row[f"_{field}_value"] = ident


def webapi_rows(org, entity):
    rows = []
    for rec in getattr(org, {"systemuser": "users", "team": "teams", "teammembership": "members", "account": "accounts",
                             "contact": "contacts", "lead": "leads", "opportunity": "opps", "cr123_project": "projects"}[entity]):
        row = {"@odata.etag": 'W/"%d"' % rec["versionnumber"]}
        for key, value in rec.items():
            if key in ("id", "owner", "customer", "parentcustomerid", "parentcustomername", "originatingleadid",
                       "cr123_accountid", "cr123_accountname", "teamid", "systemuserid"):
                continue
            if key == "industrycode" and value is not None:
                row[key + FV] = INDUSTRY[value]
            if key == "leadsourcecode":
                row[key + FV] = LEADSOURCE[value]
            if key == "leadqualitycode":
                row[key + FV] = RATING[value]
            if key == "cr123_phase":
                row[key + FV] = PHASE[value]
            if key == "statecode":
                row[key + FV] = {"lead": ["Open", "Qualified", "Disqualified"], "opportunity": ["Open", "Won", "Lost"]}.get(entity, ["Active", "Inactive"])[value]
            if key == "new_interests" and value is not None:
                row[key + FV] = "; ".join(INTERESTS[i] for i in value)
                value = ",".join(str(i) for i in value)
            if key in ("revenue", "estimatedvalue", "cr123_budget") and value is not None:
                row[key + FV] = "$" + format(float(value), ",.2f")
                value = RawNumber(value)
            if key == "new_synctomkto" and value is None:
                continue   # absent: the filter field is not set
            row[key] = value
        if "owner" in rec:
            lookup(row, org, "ownerid", rec["owner"][0], rec["owner"][1], user_name(org, *rec["owner"]))
        if "parentcustomerid" in rec:
            lookup(row, org, "parentcustomerid", "account", rec["parentcustomerid"], rec["parentcustomername"])
        if "originatingleadid" in rec:
            row["_originatingleadid_value"] = rec["originatingleadid"]
        if "customer" in rec:
            lookup(row, org, "customerid", rec["customer"][0], rec["customer"][1])
        if "cr123_accountid" in rec:
            lookup(row, org, "cr123_accountid", "account", rec["cr123_accountid"], rec["cr123_accountname"])
        if "teamid" in rec:
            row["teamid"], row["systemuserid"] = rec["teamid"], rec["systemuserid"]
        row[entity + "id"] = rec["id"]
        rows.append(row)
    return rows


class RawNumber(str):
    """A number written exactly as given (money keeps its four decimals, as the Web API writes it)."""


def dump_json(value, indent=0):
    pad = "  " * indent
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, dict):
        items = [f'{pad}  {json.dumps(k, ensure_ascii=False)}: {dump_json(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{pad}  " + dump_json(v, indent + 1) for v in value) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


SETS = {"systemuser": "systemusers", "team": "teams", "teammembership": "teammemberships", "account": "accounts",
        "contact": "contacts", "lead": "leads", "opportunity": "opportunities", "cr123_project": "cr123_projects"}


def write_webapi(org, folder):
    os.makedirs(folder, exist_ok=True)
    for entity, set_name in SETS.items():
        rows = webapi_rows(org, entity)
        pages = [rows[i:i + 25] for i in range(0, len(rows), 25)] if entity == "account" else [rows]
        for number, page in enumerate(pages, 1):
            doc = {"@odata.context": f"{ORG}$metadata#{set_name}"}
            doc["value"] = page
            if number < len(pages):
                doc["@odata.nextLink"] = f"{ORG}{set_name}?$skiptoken=%3Ccookie%20pagenumber=%22{number + 1}%22%20istracking=%22False%22%20/%3E"
            name = f"{set_name}.json" if len(pages) == 1 else f"{set_name}_page{number}.json"
            with open(os.path.join(folder, name), "w", encoding="utf-8") as out:
                out.write(dump_json(doc) + "\n")


# ---------------------------------------------------------------- FetchXML

def write_fetchxml(org, folder):
    os.makedirs(folder, exist_ok=True)
    for entity, pool in (("account", org.accounts), ("contact", org.contacts)):
        lines = ['<?xml version="1.0" encoding="utf-8"?>', '<resultset morerecords="0">']
        for rec in pool:
            lines.append("  <result>")
            lines.append(f"    <{entity}id>{{{rec['id'].upper()}}}</{entity}id>")
            for key, value in rec.items():
                if value is None or key in ("id", "owner", "parentcustomername", "originatingleadid", "new_interests"):
                    continue
                if key == "industrycode":
                    lines.append(f"    <{key} name={quoteattr(INDUSTRY[value])}>{value}</{key}>")
                elif key == "statecode":
                    lines.append(f'    <{key} name="Active">{value}</{key}>')
                elif key in ("donotemail", "new_synctomkto"):
                    lines.append(f"    <{key} name=\"{'Yes' if value else 'No'}\">{int(value)}</{key}>")
                elif key == "numberofemployees":
                    lines.append(f'    <{key} formattedvalue="{value:,}">{value}</{key}>')
                elif key == "revenue":
                    lines.append(f'    <{key} formattedvalue="${float(value):,.2f}">{value}</{key}>')
                elif key == "parentcustomerid":
                    lines.append(f'    <{key} name={quoteattr(rec["parentcustomername"])} dsc="0" type="1">{{{value.upper()}}}</{key}>')
                elif key == "createdon":
                    lines.append(f'    <{key} date="" time="">{value}</{key}>')
                else:
                    lines.append(f"    <{key}>{escape(str(value))}</{key}>")
            kind, ident = rec["owner"]
            lines.append(f'    <ownerid name={quoteattr(user_name(org, kind, ident))} dsc="0" type="{8 if kind == "systemuser" else 9}">{{{ident.upper()}}}</ownerid>')
            lines.append("  </result>")
        lines.append("</resultset>")
        with open(os.path.join(folder, f"{SETS[entity]}.xml"), "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- CMT

CMT_TYPES = {
    "systemuser": [("systemuserid", "guid"), ("fullname", "string"), ("firstname", "string"), ("lastname", "string"),
                   ("internalemailaddress", "string"), ("isdisabled", "bool"), ("versionnumber", "bigint")],
    "team": [("teamid", "guid"), ("name", "string"), ("teamtype", "optionsetvalue"), ("versionnumber", "bigint")],
    "account": [("accountid", "guid"), ("name", "string"), ("accountnumber", "string"), ("industrycode", "optionsetvalue"),
                ("numberofemployees", "number"), ("revenue", "money"), ("websiteurl", "string"), ("telephone1", "string"),
                ("address1_city", "string"), ("address1_stateorprovince", "string"), ("address1_country", "string"),
                ("ownerid", "owner"), ("new_synctomkto", "bool"), ("createdon", "datetime"), ("versionnumber", "bigint")],
    "contact": [("contactid", "guid"), ("firstname", "string"), ("lastname", "string"), ("fullname", "string"),
                ("emailaddress1", "string"), ("jobtitle", "string"), ("telephone1", "string"),
                ("parentcustomerid", "entityreference"), ("birthdate", "datetime"), ("donotemail", "bool"),
                ("new_synctomkto", "bool"), ("new_interests", "optionsetvaluecollection"),
                ("originatingleadid", "entityreference"), ("ownerid", "owner"), ("statecode", "state"),
                ("createdon", "datetime"), ("versionnumber", "bigint")],
    "lead": [("leadid", "guid"), ("firstname", "string"), ("lastname", "string"), ("fullname", "string"),
             ("companyname", "string"), ("emailaddress1", "string"), ("subject", "string"),
             ("leadsourcecode", "optionsetvalue"), ("leadqualitycode", "optionsetvalue"), ("revenue", "money"),
             ("estimatedclosedate", "datetime"), ("new_synctomkto", "bool"), ("statecode", "state"),
             ("statuscode", "status"), ("ownerid", "owner"), ("createdon", "datetime"), ("versionnumber", "bigint")],
    "opportunity": [("opportunityid", "guid"), ("name", "string"), ("estimatedvalue", "money"),
                    ("closeprobability", "number"), ("estimatedclosedate", "datetime"), ("stepname", "string"),
                    ("customerid", "entityreference"), ("statecode", "state"), ("statuscode", "status"),
                    ("actualclosedate", "datetime"), ("ownerid", "owner"), ("createdon", "datetime"),
                    ("versionnumber", "bigint")],
    "cr123_project": [("cr123_projectid", "guid"), ("cr123_name", "string"), ("cr123_accountid", "entityreference"),
                      ("cr123_budget", "decimal"), ("cr123_phase", "optionsetvalue"), ("cr123_startdate", "datetime"),
                      ("versionnumber", "bigint")],
}
POOLS = {"systemuser": "users", "team": "teams", "account": "accounts", "contact": "contacts", "lead": "leads",
         "opportunity": "opps", "cr123_project": "projects"}
LOOKUP_TYPES = {"parentcustomerid": "account|contact", "customerid": "account|contact", "originatingleadid": "lead",
                "cr123_accountid": "account", "ownerid": "systemuser|team"}


def html(text):
    # The CMT writes strings HTML-encoded before XML escaping.
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def cmt_value(rec, field, kind):
    if field == "ownerid":
        return rec["owner"][1], rec["owner"][0]
    if field == "customerid":
        return rec["customer"][1], rec["customer"][0]
    if field in ("parentcustomerid", "cr123_accountid"):
        return rec.get(field), "account"
    if field == "originatingleadid":
        return rec.get(field), "lead"
    value = rec.get(field)
    if value is None:
        return None, None
    if kind == "bool":
        return ("True" if value else "False"), None
    if kind == "datetime":
        return (value.replace("Z", ".0000000Z") if "T" in value else value + "T00:00:00.0000000"), None
    if kind == "money":
        return value + "000000", None
    if kind == "optionsetvaluecollection":
        return "[-1," + ",".join(str(i) for i in value) + ",-1]", None
    if kind == "string":
        return html(value), None
    return str(value), None


def write_cmt(org, folder):
    os.makedirs(folder, exist_ok=True)
    schema = ["<entities>"]
    for entity, fields in CMT_TYPES.items():
        schema.append(f'  <entity name="{entity}" displayname="{entity}" primaryidfield="{entity}id" disableplugins="false">')
        schema.append("    <fields>")
        for field, kind in fields:
            extra = f' lookupType="{LOOKUP_TYPES[field]}"' if field in LOOKUP_TYPES else ""
            extra += ' primaryKey="true"' if field == entity + "id" else ""
            schema.append(f'      <field displayname="{field}" name="{field}" type="{kind}"{extra} />')
        schema.append("    </fields>")
        if entity == "team":
            schema.append('    <relationships>\n      <relationship name="teammembership_association" manyToMany="true" isreflexive="false" relatedEntityName="teammembership" m2mTargetEntity="systemuser" m2mTargetEntityPrimaryKey="systemuserid" />\n    </relationships>')
        schema.append("  </entity>")
    schema.append("</entities>")
    data = ['<entities xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" timestamp="2025-12-01T00:00:00.0000000Z">']
    for entity, fields in CMT_TYPES.items():
        data.append(f'  <entity name="{entity}" displayname="{entity}">\n    <records>')
        for rec in getattr(org, POOLS[entity]):
            data.append(f'      <record id="{rec["id"]}">')
            for field, kind in fields:
                if field == entity + "id":
                    value, target = rec["id"], None
                else:
                    value, target = cmt_value(rec, field, kind)
                if value is None:
                    continue
                attrs = f'name="{field}" value={quoteattr(value)}'
                if target:
                    attrs += f' lookupentity="{target}"'
                data.append(f"        <field {attrs} />")
            data.append("      </record>")
        data.append("    </records>")
        if entity == "team":
            data.append("    <m2mrelationships>")
            for team in org.teams:
                targets = "".join(f"<targetid>{m['systemuserid']}</targetid>" for m in org.members if m["teamid"] == team["id"])
                data.append(f'      <m2mrelationship sourceid="{team["id"]}" targetentityname="systemuser" targetentitynameidfield="systemuserid" m2mrelationshipname="teammembership_association"><targetids>{targets}</targetids></m2mrelationship>')
            data.append("    </m2mrelationships>")
        else:
            data.append("    <m2mrelationships />")
        data.append("  </entity>")
    data.append("</entities>")
    with open(os.path.join(folder, "data_schema.xml"), "w", encoding="utf-8") as out:
        out.write("\n".join(schema) + "\n")
    with open(os.path.join(folder, "data.xml"), "w", encoding="utf-8") as out:
        out.write("\n".join(data) + "\n")


def write_marketo_changes(path):
    """Edits made on the Marketo side during the second week (a Marketo lead export, CSV).

    Person ids are the ones dynsync hands out on the initial sync: synced contacts first (1-84),
    then synced leads (85-150), each in Dynamics id order.
    """
    rows = [
        ["id", "updatedAt", "msftType", "syncToDynamics", "email", "firstName", "lastName", "title", "phone"],
        # contact 4: Dynamics also changed the title this week -> conflict, Dynamics wins for contacts
        ["4", "2025-12-02T09:00:00Z", "Contact", "", "elif.tanaka4@company13.example", "Elif", "Tanaka",
         "Finance Director", "+1-555-0204"],
        # lead 3 (person 87): a Marketo-only edit -> PATCH
        ["87", "2025-12-02T09:05:00Z", "Lead", "", "goran.obrien.3@mail.example", "Goran", "O'Brien", "Procurement Lead", ""],
        # a Marketo-only person asking to sync -> a new lead (POST)
        ["5001", "2025-12-02T09:10:00Z", "", "true", "nina.berg@newco.example", "Nina", "Berg", "CTO", ""],
        # an id dynsync never handed out -> rejected
        ["9999", "2025-12-02T09:15:00Z", "", "", "ghost@example.com", "Ghost", "Row", "", ""],
    ]
    with open(path, "w", encoding="utf-8", newline="") as out:
        for row in rows:
            out.write(",".join(row) + "\r\n")


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    org = Org(seed=20251201).build()
    for name, writer in (("webapi", write_webapi), ("fetchxml", write_fetchxml), ("cmt", write_cmt)):
        writer(org, os.path.join(ROOT, "01-initial", name))
    org.next_export()
    for name, writer in (("webapi", write_webapi), ("fetchxml", write_fetchxml), ("cmt", write_cmt)):
        writer(org, os.path.join(ROOT, "02-next", name))
    write_marketo_changes(os.path.join(ROOT, "02-next", "marketo-changes.csv"))


if __name__ == "__main__":
    main()
