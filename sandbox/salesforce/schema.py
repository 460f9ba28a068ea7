"""What the org's objects are: their fields, types and rules (required, read-only, external id,
reference), from which describe answers and by which every write is checked. The objects are
the ones a commerce push touches: Contact and Account, Order and OrderItem (with Product2,
Pricebook2 and PricebookEntry, which an order line needs) and Opportunity. Custom fields are
added by the Tooling API (`CustomField`) or the control API, never assumed."""

from __future__ import annotations

from dataclasses import dataclass, field

ADDRESS = ("Street", "City", "State", "PostalCode", "Country")
STANDARD_PRICEBOOK_NAME = "Standard Price Book"


@dataclass
class Field:
    name: str
    type: (
        str  # id string email phone boolean double currency percent date datetime textarea picklist reference
    )
    label: str = ""
    length: int = 0
    required: bool = False  # nillable false and not defaulted on create
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "length": self.length,
            "nillable": not self.required and self.type not in ("id", "boolean"),
            "createable": self.createable,
            "updateable": self.updateable,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.type == "id" or self.external_id,
            "custom": self.custom,
            "calculated": False,
            "defaultedOnCreate": self.type == "boolean" or not self.createable,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.name[:-2]
            if self.type == "reference" and self.name.endswith("Id")
            else None,
            "picklistValues": [{"value": v, "label": v, "active": True} for v in self.picklist],
            "filterable": self.type != "textarea",
            "sortable": self.type != "textarea",
        }


@dataclass(frozen=True)
class FieldGroups:
    """The fields every write fills or checks, picked out once per change of the object's fields
    instead of on each record: checkboxes a new record starts false, unique and required ones."""

    size: int
    checkboxes: tuple[str, ...]
    unique: tuple[Field, ...]
    required: tuple[Field, ...]


@dataclass
class SObject:
    name: str
    label: str
    key_prefix: str
    fields: dict[str, Field] = field(default_factory=dict)
    _groups: FieldGroups | None = field(default=None, repr=False, compare=False)

    def add(self, *fields: Field) -> SObject:
        for f in fields:
            self.fields[f.name] = f
        self._groups = None
        return self

    def groups(self) -> FieldGroups:
        if self._groups is None or self._groups.size != len(self.fields):
            every = list(self.fields.values())
            self._groups = FieldGroups(
                len(every),
                tuple(f.name for f in every if f.type == "boolean" and f.name != "IsDeleted"),
                tuple(f for f in every if f.unique),
                tuple(f for f in every if f.required),
            )
        return self._groups

    def field(self, name: str) -> Field | None:
        """Field names are case-insensitive in Salesforce."""
        found = self.fields.get(name)
        if found is not None:
            return found
        lower = name.lower()
        return next((f for n, f in self.fields.items() if n.lower() == lower), None)


def _system() -> tuple[Field, ...]:
    return (
        Field("Id", "id", "Record ID", 18, createable=False, updateable=False),
        Field("IsDeleted", "boolean", "Deleted", createable=False, updateable=False),
        Field("CreatedDate", "datetime", "Created Date", createable=False, updateable=False),
        Field("LastModifiedDate", "datetime", "Last Modified Date", createable=False, updateable=False),
        Field("SystemModstamp", "datetime", "System Modstamp", createable=False, updateable=False),
    )


def _text(name: str, length: int = 255, **kw: object) -> Field:
    return Field(name, "string", length=length, **kw)  # type: ignore[arg-type]


def _ref(name: str, *to: str, required: bool = False, updateable: bool = True) -> Field:
    return Field(name, "reference", length=18, reference_to=to, required=required, updateable=updateable)


def _address(prefix: str) -> tuple[Field, ...]:
    lengths = {"Street": 255, "City": 40, "State": 80, "PostalCode": 20, "Country": 80}
    return tuple(_text(prefix + part, lengths[part]) for part in ADDRESS)


def standard_objects() -> dict[str, SObject]:
    """The objects as a new org has them, without the connector's custom fields."""
    objects = [
        SObject("Account", "Account", "001").add(
            *_system(),
            _text("Name", required=True),
            Field("Phone", "phone", length=40),
            *_address("Billing"),
            Field("Description", "textarea", length=32000),
        ),
        SObject("Contact", "Contact", "003").add(
            *_system(),
            _text("FirstName", 40),
            _text("LastName", 80, required=True),
            _text("Name", 121, createable=False, updateable=False),
            Field("Email", "email", length=80),
            Field("Phone", "phone", length=40),
            Field("MobilePhone", "phone", length=40),
            *_address("Mailing"),
            Field("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
            Field("DoNotCall", "boolean", "Do Not Call"),
            Field("Birthdate", "date"),
            _ref("AccountId", "Account"),
            Field("LeadSource", "picklist", length=255, picklist=("Web", "Phone Inquiry", "Other")),
            Field("Description", "textarea", length=32000),
        ),
        SObject("Product2", "Product", "01t").add(
            *_system(),
            _text("Name", required=True),
            _text("ProductCode"),
            Field("IsActive", "boolean", "Active"),
            Field("Description", "textarea", length=4000),
        ),
        SObject("Pricebook2", "Price Book", "01s").add(
            *_system(),
            _text("Name", required=True),
            Field("IsActive", "boolean", "Active"),
            Field("IsStandard", "boolean", "Is Standard Price Book", createable=False, updateable=False),
        ),
        SObject("PricebookEntry", "Price Book Entry", "01u").add(
            *_system(),
            _ref("Pricebook2Id", "Pricebook2", required=True, updateable=False),
            _ref("Product2Id", "Product2", required=True, updateable=False),
            Field("UnitPrice", "currency", "List Price", required=True),
            Field("IsActive", "boolean", "Active"),
            Field("UseStandardPrice", "boolean", "Use Standard Price"),
        ),
        SObject("Order", "Order", "801").add(
            *_system(),
            _ref("AccountId", "Account", required=True),
            Field("EffectiveDate", "date", "Order Start Date", required=True),
            Field("Status", "picklist", length=40, required=True, picklist=("Draft", "Activated")),
            _ref("Pricebook2Id", "Pricebook2"),
            _ref("BillToContactId", "Contact"),
            _ref("ShipToContactId", "Contact"),
            _text("Name", 80),
            _text("OrderReferenceNumber", 80),
            Field("TotalAmount", "currency", "Order Amount", createable=False, updateable=False),
            *_address("Billing"),
            *_address("Shipping"),
            Field("Description", "textarea", length=32000),
        ),
        SObject("OrderItem", "Order Product", "802").add(
            *_system(),
            _ref("OrderId", "Order", required=True, updateable=False),
            _ref("PricebookEntryId", "PricebookEntry", required=True, updateable=False),
            _ref("Product2Id", "Product2", updateable=False),
            Field("Quantity", "double", required=True),
            Field("UnitPrice", "currency", "Unit Price", required=True),
            Field("TotalPrice", "currency", "Total Price", createable=False, updateable=False),
            _text("Description"),
        ),
        SObject("Opportunity", "Opportunity", "006").add(
            *_system(),
            _text("Name", 120, required=True),
            _text("StageName", 255, required=True),
            Field("CloseDate", "date", required=True),
            Field("Amount", "currency"),
            _ref("AccountId", "Account"),
            _ref("ContactId", "Contact"),
            Field("Description", "textarea", length=32000),
        ),
        SObject("Case", "Case", "500").add(
            *_system(),
            _text("Subject"),
            Field("Status", "picklist", length=40, picklist=("New", "Working", "Escalated", "Closed")),
            _ref("AccountId", "Account"),
            _ref("ContactId", "Contact"),
            Field("Description", "textarea", length=32000),
        ),
    ]
    return {o.name: o for o in objects}


# Tooling API CustomField `Metadata.type` → the field's type in describe, and its default length
CUSTOM_TYPES = {
    "Text": ("string", 255),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Number": ("double", 18),
    "Currency": ("currency", 18),
    "Percent": ("percent", 18),
    "Checkbox": ("boolean", 0),
    "Date": ("date", 0),
    "DateTime": ("datetime", 0),
    "TextArea": ("textarea", 255),
    "LongTextArea": ("textarea", 131072),
}
EXTERNAL_ID_TYPES = ("Text", "Email", "Number")


def custom_field(name: str, metadata: dict[str, object]) -> Field | str:
    """The field a Tooling `CustomField` body describes, or why it cannot be made."""
    kind = metadata.get("type")
    if kind not in CUSTOM_TYPES:
        return f"type must be one of {', '.join(CUSTOM_TYPES)}"
    if not name.endswith("__c") or not name[:-3].replace("_", "a").isalnum() or "__" in name[:-3]:
        return f"invalid custom field name {name!r}: letters, digits and single underscores, ending in __c"
    sf_type, default_length = CUSTOM_TYPES[str(kind)]
    length = metadata.get("length", default_length)
    if not isinstance(length, int) or length < 0:
        return "length must be a whole number"
    external = bool(metadata.get("externalId", False))
    if external and kind not in EXTERNAL_ID_TYPES:
        return f"only {', '.join(EXTERNAL_ID_TYPES)} fields can be external ids"
    label = metadata.get("label") or name[:-3]
    return Field(
        name,
        sf_type,
        str(label),
        length,
        external_id=external,
        unique=bool(metadata.get("unique", False)),
        custom=True,
    )
