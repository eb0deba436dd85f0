"""Where each model lives: the survivors' data keys in the key store (``keys``),
everything else in the data database (``default``). See ``consent.data_keys``."""

from __future__ import annotations

KEY_STORE = "keys"
_KEY_MODEL = ("consent", "datakey")


def _is_key(app_label: str, model_name: str | None) -> bool:
    return (app_label, model_name) == _KEY_MODEL


class KeyStoreRouter:
    def db_for_read(self, model, **hints):
        return KEY_STORE if _is_key(model._meta.app_label, model._meta.model_name) else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        # A data key refers to its survivor by id only: no relation crosses the stores.
        if _is_key(obj1._meta.app_label, obj1._meta.model_name) or _is_key(
            obj2._meta.app_label, obj2._meta.model_name
        ):
            return False
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == KEY_STORE:
            return _is_key(app_label, model_name)
        return not _is_key(app_label, model_name)
