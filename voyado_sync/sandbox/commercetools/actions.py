"""Update actions the sandbox accepts (reference §5): customers and custom Types.

Each action mutates a private copy of the document and returns the Messages it produces; the caller
applies all actions of one request to the same copy and stores it only when every action succeeded, so a
request is atomic like the real API's.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Callable

from voyado_sync.sandbox.commercetools.messages import Emitted, custom_field_messages
from voyado_sync.sandbox.commercetools.predicates import instant_key

MAX_ACTIONS = 500
FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{2,36}$")
FIELD_TYPES = {"Boolean", "String", "LocalizedString", "Enum", "LocalizedEnum", "Number", "Money", "Date", "Time",
               "DateTime", "Reference", "Set"}


class ActionError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


TypeResolver = Callable[[dict[str, Any]], dict[str, Any] | None]  # {"typeId","id"|"key"} -> Type document


def check_update_body(body: Any) -> tuple[int, list[dict[str, Any]]]:
    if not isinstance(body, dict):
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage="Expected an object with 'version' and 'actions'.")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage="version: Missing required value" if version is None
                          else "version: JSON number (integer) expected")
    actions = body.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage="actions: JSON array of update actions expected")
    if len(actions) > MAX_ACTIONS:
        raise ActionError(400, "InvalidInput", f"Too many update actions: {len(actions)} (at most {MAX_ACTIONS} "
                                               "per request).")
    return version, actions


def _required(action: dict[str, Any], name: str) -> Any:
    if action.get(name) is None:
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage=f"actions -> {name}: Missing required value")
    return action[name]


# --- custom field validation --------------------------------------------------------------------
def _valid_value(field_type: dict[str, Any], value: Any) -> bool:
    name = field_type.get("name")
    if name == "Boolean":
        return isinstance(value, bool)
    if name in ("String",):
        return isinstance(value, str)
    if name == "Number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "Enum":
        return value in {v.get("key") for v in field_type.get("values", [])}
    if name == "LocalizedEnum":
        return value in {v.get("key") for v in field_type.get("values", [])}
    if name == "LocalizedString":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if name == "DateTime":
        return isinstance(value, str) and instant_key(value) is not None
    if name == "Date":
        return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
    if name == "Time":
        return isinstance(value, str) and re.fullmatch(r"\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?", value) is not None
    if name == "Money":
        return isinstance(value, dict) and isinstance(value.get("centAmount"), int) and \
            isinstance(value.get("currencyCode"), str)
    if name == "Reference":
        return isinstance(value, dict) and isinstance(value.get("id"), str)
    if name == "Set":
        return isinstance(value, list) and all(_valid_value(field_type.get("elementType") or {}, v) for v in value)
    return True


def validate_custom_field(type_doc: dict[str, Any], name: str, value: Any) -> None:
    definition = next((f for f in type_doc.get("fieldDefinitions", []) if f.get("name") == name), None)
    if definition is None:
        raise ActionError(400, "InvalidOperation",
                          f"The field '{name}' is not defined in the type '{type_doc.get('key', type_doc['id'])}'.")
    if value is not None and not _valid_value(definition.get("type") or {}, value):
        raise ActionError(400, "InvalidField", f"The value '{value!r}' is not valid for field '{name}'.",
                          field=name, invalidValue=value)


# --- customers ----------------------------------------------------------------------------------
def _set_or_remove(doc: dict[str, Any], field: str, value: Any) -> None:
    if value is None:
        doc.pop(field, None)
    else:
        doc[field] = value


def apply_customer_action(doc: dict[str, Any], action: dict[str, Any], resolve_type: TypeResolver,
                          email_taken: Callable[[str, str], bool], key_taken: Callable[[str, str], bool]) -> Emitted:
    name = action.get("action")
    old_custom = doc.get("custom")
    if name == "setCustomType":
        ref = action.get("type")
        if ref is None:
            doc.pop("custom", None)
            return custom_field_messages("Customer", old_custom, None)
        type_doc = resolve_type(ref)
        if type_doc is None:
            raise ActionError(400, "ReferencedResourceNotFound",
                              f"The referenced object of type 'type' {ref.get('id') or ref.get('key')!r} was not "
                              "found. It either doesn't exist, or it can't be accessed from this endpoint.",
                              typeId="type", **{k: ref[k] for k in ("id", "key") if k in ref})
        if "customer" not in type_doc.get("resourceTypeIds", []):
            raise ActionError(400, "InvalidOperation",
                              f"Type '{type_doc.get('key')}' cannot be used for resource type 'customer'.")
        fields = action.get("fields") or {}
        for field_name, value in fields.items():
            validate_custom_field(type_doc, field_name, value)
        doc["custom"] = {"type": {"typeId": "type", "id": type_doc["id"]},
                         "fields": {k: v for k, v in fields.items() if v is not None}}
        payload: dict[str, Any] = {"customFields": doc["custom"]}
        if old_custom and (old_custom.get("type") or {}).get("id"):
            payload["previousTypeId"] = old_custom["type"]["id"]
        return [("CustomerCustomTypeSet", payload)]
    if name == "setCustomField":
        field_name = _required(action, "name")
        if not old_custom:
            raise ActionError(400, "InvalidOperation", "This resource has no custom type set - please use "
                                                       "setCustomType first to set the type of the custom fields")
        type_doc = resolve_type(old_custom["type"])
        if type_doc is not None:
            validate_custom_field(type_doc, field_name, action.get("value"))
        new_custom = {"type": old_custom["type"], "fields": dict(old_custom.get("fields") or {})}
        _set_or_remove(new_custom["fields"], field_name, action.get("value"))
        doc["custom"] = new_custom
        return custom_field_messages("Customer", old_custom, new_custom)
    if name == "setExternalId":
        _set_or_remove(doc, "externalId", action.get("externalId"))
        return [("CustomerExternalIdSet", {"externalId": action["externalId"]} if action.get("externalId") else {})]
    if name == "setKey":
        key = action.get("key")
        if key is not None and key_taken(key, doc["id"]):
            raise ActionError(400, "DuplicateField", f"A duplicate value '\"{key}\"' exists for field 'key'.",
                              field="key", duplicateValue=key)
        _set_or_remove(doc, "key", key)
        return []
    if name == "changeEmail":
        email = _required(action, "email")
        if email_taken(email, doc["id"]):
            raise ActionError(400, "DuplicateField", f"A duplicate value '\"{email}\"' exists for field 'email'.",
                              field="email", duplicateValue=email)
        old_email = doc.get("email")
        doc["email"] = email
        doc["isEmailVerified"] = False
        return [("CustomerEmailChanged", {"email": email, "oldEmail": old_email})]
    if name == "setCustomerNumber":
        if doc.get("customerNumber"):
            raise ActionError(400, "InvalidOperation", "Customer number already set and cannot be changed.")
        _set_or_remove(doc, "customerNumber", action.get("customerNumber"))
        return []
    simple = {"setFirstName": ("firstName", "CustomerFirstNameSet"), "setLastName": ("lastName", "CustomerLastNameSet"),
              "setMiddleName": ("middleName", None), "setTitle": ("title", "CustomerTitleSet"),
              "setSalutation": ("salutation", None), "setDateOfBirth": ("dateOfBirth", "CustomerDateOfBirthSet"),
              "setCompanyName": ("companyName", "CustomerCompanyNameSet"), "setVatId": ("vatId", None),
              "setLocale": ("locale", None), "setCustomerGroup": ("customerGroup", "CustomerGroupSet"),
              "setStores": ("stores", "CustomerStoresSet")}
    if name in simple:
        field, message_type = simple[name]
        value = action.get(field)
        if field == "customerGroup" and value is not None:
            value = {"typeId": "customer-group", "id": value.get("id")} if value.get("id") else value
        _set_or_remove(doc, field, value)
        if field == "stores" and value is None:
            doc["stores"] = []
        return [(message_type, {field: value} if value is not None else {})] if message_type else []
    if name == "addAddress":
        address = dict(_required(action, "address"))
        address.setdefault("id", uuid.uuid4().hex[:8])
        doc.setdefault("addresses", []).append(address)
        return [("CustomerAddressAdded", {"address": address})]
    if name in ("changeAddress", "removeAddress", "setDefaultShippingAddress", "setDefaultBillingAddress"):
        addresses = doc.setdefault("addresses", [])
        addr_id = action.get("addressId")
        if addr_id is None and action.get("addressKey"):
            addr_id = next((a.get("id") for a in addresses if a.get("key") == action["addressKey"]), None)
        index = next((i for i, a in enumerate(addresses) if a.get("id") == addr_id), None)
        if index is None:
            raise ActionError(400, "InvalidOperation", f"The customer does not contain an address with the id "
                                                       f"'{addr_id}'.")
        if name == "changeAddress":
            address = {**_required(action, "address"), "id": addr_id}
            addresses[index] = address
            return [("CustomerAddressChanged", {"address": address})]
        if name == "removeAddress":
            removed = addresses.pop(index)
            for ids_field in ("shippingAddressIds", "billingAddressIds"):
                if addr_id in doc.get(ids_field, []):
                    doc[ids_field].remove(addr_id)
            for default in ("defaultShippingAddressId", "defaultBillingAddressId"):
                if doc.get(default) == addr_id:
                    del doc[default]
            return [("CustomerAddressRemoved", {"address": removed})]
        field = "defaultShippingAddressId" if name == "setDefaultShippingAddress" else "defaultBillingAddressId"
        doc[field] = addr_id
        return []
    raise ActionError(400, "InvalidInput", f"Unknown update action '{name}' for resource 'customer'. "
                                           "Supported: setCustomType, setCustomField, setExternalId, setKey, "
                                           "changeEmail, setFirstName, setLastName, addAddress, ...")


# --- types --------------------------------------------------------------------------------------
def check_field_definition(definition: Any) -> dict[str, Any]:
    if not isinstance(definition, dict):
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage="fieldDefinition: JSON object expected")
    for required in ("name", "type", "label", "required"):
        if definition.get(required) is None:
            raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                              detailedErrorMessage=f"fieldDefinitions -> {required}: Missing required value")
    if not isinstance(definition["name"], str) or not FIELD_NAME.match(definition["name"]):
        raise ActionError(400, "InvalidInput", f"Invalid field name '{definition['name']}': must match "
                                               f"{FIELD_NAME.pattern}.")
    type_name = (definition.get("type") or {}).get("name")
    if type_name not in FIELD_TYPES:
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage=f"fieldDefinitions -> type -> name: unknown field type '{type_name}'")
    return definition


def check_type_draft(draft: Any) -> dict[str, Any]:
    if not isinstance(draft, dict):
        raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                          detailedErrorMessage="TypeDraft: JSON object expected")
    for required in ("key", "name", "resourceTypeIds"):
        if draft.get(required) is None:
            raise ActionError(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                              detailedErrorMessage=f"{required}: Missing required value")
    names = [check_field_definition(d)["name"] for d in draft.get("fieldDefinitions") or []]
    if len(names) != len(set(names)):
        raise ActionError(400, "DuplicateFieldDefinition", "Field definitions must have unique names.")
    return draft


def apply_type_action(doc: dict[str, Any], action: dict[str, Any]) -> None:
    name = action.get("action")
    fields: list[dict[str, Any]] = doc.setdefault("fieldDefinitions", [])

    def find(field_name: str) -> dict[str, Any]:
        for definition in fields:
            if definition.get("name") == field_name:
                return definition
        raise ActionError(400, "InvalidOperation", f"The type does not contain a field definition with name "
                                                   f"'{field_name}'.")

    if name == "addFieldDefinition":
        definition = check_field_definition(_required(action, "fieldDefinition"))
        if any(f.get("name") == definition["name"] for f in fields):
            raise ActionError(400, "DuplicateFieldDefinition",
                              f"A field definition with name '{definition['name']}' already exists.",
                              fieldName=definition["name"])
        fields.append(definition)
    elif name == "removeFieldDefinition":
        fields.remove(find(_required(action, "fieldName")))
    elif name in ("addEnumValue", "addLocalizedEnumValue"):
        definition = find(_required(action, "fieldName"))
        field_type = definition["type"]
        if field_type.get("name") == "Set":
            field_type = field_type.get("elementType") or {}
        if field_type.get("name") not in ("Enum", "LocalizedEnum"):
            raise ActionError(400, "InvalidOperation", f"Field '{definition['name']}' is not an enum field.")
        value = _required(action, "value")
        if any(v.get("key") == value.get("key") for v in field_type.setdefault("values", [])):
            raise ActionError(400, "DuplicateEnumValues", f"The enum value '{value.get('key')}' already exists.",
                              duplicates=[value.get("key")])
        field_type["values"].append(value)
    elif name == "changeLabel":
        find(_required(action, "fieldName"))["label"] = _required(action, "label")
    elif name == "changeInputHint":
        find(_required(action, "fieldName"))["inputHint"] = _required(action, "inputHint")
    elif name == "changeName":
        doc["name"] = _required(action, "name")
    elif name == "setDescription":
        _set_or_remove(doc, "description", action.get("description"))
    elif name == "changeKey":
        doc["key"] = _required(action, "key")
    else:
        raise ActionError(400, "InvalidInput", f"Unknown update action '{name}' for resource 'type'. Supported: "
                                               "addFieldDefinition, removeFieldDefinition, addEnumValue, "
                                               "changeLabel, changeInputHint, changeName, setDescription, changeKey")
