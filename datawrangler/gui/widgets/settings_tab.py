"""Settings and presets: production, DIT, shooting day, naming template (with a live example of the path),
stage-2 destinations (the cascading copy), algorithms, verify mode, copies required and the protection rule
(N copies, or a studio's 3-2-1), ignore list, handoff files, auto-offload, eject, sound, and this station's
name and site (recorded on each offload: a 3-2-1 rule counts the sites its copies were made at), and where the
catalog is (gui.widgets.catalog_box: a file or a server, with Test connection). Each problem
is said next to its field; Save stays off until there are none."""

from __future__ import annotations

import dataclasses
import os
import socket

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from datawrangler.core import cards as core_cards
from datawrangler.core.hashing import ALGORITHMS
from datawrangler.core.presets import HANDOFF_KINDS, TOKENS, Preset, TemplateError, card_tokens, render_template
from datawrangler.gui.controller import Controller
from datawrangler.gui.prefs import Profile, check
from datawrangler.gui.widgets.catalog_box import CatalogBox
from datawrangler.gui.widgets.panels import button

EXAMPLE_CARD = core_cards.CardInfo("/media/A001R2EC", "ARRI", "ALEXA", "camera", "arri", "A", "A001", "A001R2EC",
                                   12, "A001C001", "A001C012", "231014", 40, 256_000_000_000, "0" * 64, "A001R2EC")
HANDOFF_LABELS = {"ascmhl": "ASC MHL", "mhl": "MHL 1.1 (legacy)", "md5sum": "md5 list", "xxhsum": "xxh64 list",
                  "csv": "CSV manifest", "json": "JSON manifest", "ale": "Avid ALE", "clip_csv": "Clip CSV"}
THUMBNAIL_CHOICES = {"No thumbnails": 0, "1 thumbnail per clip": 1, "3 thumbnails per clip": 3}
RULE_CHOICES = {"": "The copies required, on distinct drives",
                "3-2-1": "3-2-1: three copies, two kinds of media, one in another place"}


def example_path(preset: Preset, root: str) -> str:
    tokens = card_tokens(preset, EXAMPLE_CARD, reel="A001", counter=1)
    return os.path.join(root, *render_template(preset.template, tokens).split("/"), "A001R2EC",
                        "A001C001_231014_R2EC.mxf")


class SettingsTab(QWidget):
    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.c = controller
        self.errors: dict[str, QLabel] = {}
        self._loading = False
        self._loaded: Profile = controller.profile  # the profile the form was last loaded from
        self._shown = controller.preset.name

        self.preset = QComboBox()
        new_btn, del_btn = button("New preset…"), button("Delete preset")
        self.production = QLineEdit()
        self.dit = QLineEdit()
        self.day = QSpinBox()
        self.day.setRange(0, 999)
        self.day.setSpecialValueText("–")
        self.template = QLineEdit()
        self.example = QLabel()
        self.example.setProperty("role", "hint")
        self.example.setWordWrap(True)
        # the cascading copy: drives written from a verified stage-1 copy once the card is released
        self.stage1 = QLabel()
        self.stage1.setProperty("role", "hint")
        self.stage1.setWordWrap(True)
        self.stage2 = QListWidget()
        self.stage2.setMaximumHeight(84)
        self.stage2.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.stage2.setToolTip("Stage 2 destinations: copied from a verified stage-1 copy (not from the card) once "
                               "the card is released")
        self.stage2_add = button("Add drive…", tip="Add a stage-2 destination drive or folder")
        self.stage2_remove = button("Remove", tip="Remove the selected stage-2 destinations")
        self.algs = {a: QCheckBox(a) for a in ALGORITHMS}
        self.verify = QComboBox()
        self.verify.addItems(["full", "destinations", "size"])
        self.verify.setToolTip("full: read back every copy and re-read the card; destinations: read back the copies;"
                               " size: sizes only, never safe to format")
        self.copies = QSpinBox()
        self.copies.setRange(1, 9)
        self.rule = QComboBox()
        for value, text in RULE_CHOICES.items():
            self.rule.addItem(text, value)
        self.rule.setToolTip("What a card needs before it is safe to format. 3-2-1 counts each drive's media kind "
                             "(said in Destinations) and each station's site: unknown never counts as another.")
        self.station = QLineEdit()
        self.station.setPlaceholderText(f"this computer's name ({socket.gethostname()})")
        self.site = QLineEdit()
        self.site.setPlaceholderText("where this station stands (e.g. Stage 4, the lab): not said")
        self.catalog = CatalogBox(controller.bridge)
        self.ignore = QPlainTextEdit()
        self.ignore.setMaximumHeight(110)
        self.handoff = {k: QCheckBox(HANDOFF_LABELS.get(k, k)) for k in HANDOFF_KINDS}
        self.clips = QCheckBox("Read each clip's metadata once the copies are verified (from a copy, not the card)")
        self.thumbs = QComboBox()
        self.thumbs.addItems(list(THUMBNAIL_CHOICES))
        self.auto = QCheckBox("Offload a recognised card as soon as it is inserted")
        self.eject = QCheckBox("Eject the card once it is safe to format")
        self.sound = QCheckBox("Play a sound when an offload ends")
        self.awake = QCheckBox("Keep the computer awake while offloading")
        self.roots = QLineEdit()
        self.roots.setPlaceholderText("folders whose volumes are all cards (removable media are found anyway)")

        form = QFormLayout()
        prow = QHBoxLayout()
        prow.addWidget(self.preset, 1)
        prow.addWidget(new_btn)
        prow.addWidget(del_btn)
        self._row(form, "Preset", prow, "preset")
        self._row(form, "Production", self.production, "production")
        self._row(form, "DIT", self.dit, "dit")
        self._row(form, "Shooting day", self.day, "day")
        tpl = QVBoxLayout()
        tpl.addWidget(self.template)
        tpl.addWidget(self.example)
        tokens = QLabel("Tokens: " + "  ".join("{" + t + "}" for t in TOKENS))
        tokens.setProperty("role", "hint")
        tokens.setWordWrap(True)
        tpl.addWidget(tokens)
        self._row(form, "Naming template", tpl, "template")
        self._row(form, "Stage 2 destinations", self._stage2_box(), "stage2")
        algs = QHBoxLayout()
        for cb in self.algs.values():
            algs.addWidget(cb)
        algs.addStretch(1)
        self._row(form, "Hashes", algs, "algorithms")
        self._row(form, "Verify mode", self.verify, "verify_mode")
        self._row(form, "Copies required", self.copies, "copies_required")
        self._row(form, "Protection rule", self.rule, "rule")
        self._row(form, "Ignore (one per line)", self.ignore, "ignore")
        hand = QGridLayout()
        for i, cb in enumerate(self.handoff.values()):
            hand.addWidget(cb, i // 3, i % 3)
        self._row(form, "Handoff files", hand, "handoff")
        clips = QHBoxLayout()
        clips.addWidget(self.clips)
        clips.addWidget(self.thumbs)
        clips.addStretch(1)
        self._row(form, "Clips", clips, "clips")
        opts = QVBoxLayout()
        for w in (self.auto, self.eject, self.awake, self.sound):
            opts.addWidget(w)
        self._row(form, "When a card comes", opts, "auto")
        self._row(form, "Mount roots", self.roots, "roots")
        self._row(form, "Station", self.station, "station")
        self._row(form, "Site", self.site, "site")
        self._row(form, "Catalog", self.catalog, "catalog")

        self.save_btn = button("Save", primary=True)
        self.revert_btn = button("Revert")
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.revert_btn)
        bottom.addWidget(self.save_btn)
        box = QGroupBox("SETTINGS AND PRESETS")
        box.setLayout(form)
        inner = QWidget()
        il = QVBoxLayout(inner)
        il.addWidget(box)
        il.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        lay = QVBoxLayout(self)
        lay.addWidget(scroll, 1)
        lay.addLayout(bottom)

        for e in (self.production, self.dit, self.template, self.roots, self.station, self.site, self.catalog.edit):
            e.textChanged.connect(self.validate)
        for s in (self.day, self.copies):
            s.valueChanged.connect(self.validate)
        self.verify.currentIndexChanged.connect(self.validate)
        self.rule.currentIndexChanged.connect(self.validate)
        self.thumbs.currentIndexChanged.connect(self.validate)
        self.clips.toggled.connect(self.thumbs.setEnabled)
        self.ignore.textChanged.connect(self.validate)
        self.stage2_add.clicked.connect(self._pick_stage2)
        self.stage2_remove.clicked.connect(self.remove_stage2)
        self.stage2.itemSelectionChanged.connect(
            lambda: self.stage2_remove.setEnabled(bool(self.stage2.selectedItems())))
        for cb in (*self.algs.values(), *self.handoff.values(), self.clips, self.auto, self.eject, self.awake,
                   self.sound):
            cb.toggled.connect(self.validate)
        self.preset.activated.connect(self._switch)
        new_btn.clicked.connect(self._new)
        del_btn.clicked.connect(self._delete)
        self.save_btn.clicked.connect(self.save)
        self.revert_btn.clicked.connect(self.load)
        controller.settings_changed.connect(self._external_change)
        self.load()

    def _stage2_box(self) -> QVBoxLayout:
        box = QVBoxLayout()
        row = QHBoxLayout()
        row.addWidget(self.stage2, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.stage2_add)
        buttons.addWidget(self.stage2_remove)
        buttons.addStretch(1)
        row.addLayout(buttons)
        box.addLayout(row)
        box.addWidget(self.stage1)
        hint = QLabel("Written from a verified stage-1 copy, not from the card. When stage 1 is verified the card "
                      "is RELEASED: it may leave the reader and the next card may start. It is SAFE TO FORMAT only "
                      "once the required copies are verified, stage 2's included.")
        hint.setProperty("role", "hint")
        hint.setWordWrap(True)
        box.addWidget(hint)
        return box

    def stage2_roots(self) -> tuple[str, ...]:
        return tuple(self.stage2.item(i).text() for i in range(self.stage2.count()))

    def add_stage2(self, path: str) -> None:
        """A stage-2 destination in the form (Save keeps it in the preset); a problem is said beside it."""
        self.stage2.addItem(path)
        self.validate()

    def remove_stage2(self) -> None:
        for item in self.stage2.selectedItems():
            self.stage2.takeItem(self.stage2.row(item))
        self.validate()

    def _pick_stage2(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a stage-2 destination drive or folder")
        if path:
            self.add_stage2(path)

    def _row(self, form: QFormLayout, label: str, field: object, key: str) -> None:
        err = QLabel()
        err.setProperty("role", "error")
        err.setWordWrap(True)
        err.hide()
        self.errors[key] = err
        holder = QVBoxLayout()
        if isinstance(field, QWidget):
            holder.addWidget(field)
        else:
            holder.addLayout(field)  # type: ignore[arg-type]
        holder.addWidget(err)
        form.addRow(label, holder)

    def _external_change(self) -> None:
        """The profile changed elsewhere (a drive added, another preset chosen in the header): the form follows,
        unless it holds unsaved edits of the same preset. A form left on another preset's values would save
        them into the preset now chosen (its stage-2 drives, hashes...)."""
        if not self._dirty() or self._shown != self.c.preset.name:
            self.load()

    def _dirty(self) -> bool:
        """Edits not saved: the form differs from the profile it was loaded from."""
        return self._form(self._loaded) != self._loaded

    def load(self) -> None:
        self._loading = True
        prof = self.c.profile
        self._loaded, self._shown = prof, prof.preset.name
        p = prof.preset
        self.preset.clear()
        self.preset.addItems([x.name for x in prof.presets])
        self.preset.setCurrentText(p.name)
        self.production.setText(p.project or prof.settings.production)
        self.dit.setText(prof.settings.operator)
        self.day.setValue(p.day or 0)
        self.template.setText(p.template)
        self.stage2.clear()
        self.stage2.addItems(list(p.stage2))
        self.stage2_remove.setEnabled(False)
        for a, cb in self.algs.items():
            cb.setChecked(a in p.algorithms)
        self.verify.setCurrentText(p.verify_mode)
        self.copies.setValue(p.copies_required)
        if self.rule.findData(p.rule) < 0:  # a rule written in the file by hand ('4'): shown as it is
            self.rule.addItem(p.rule, p.rule)
        self.rule.setCurrentIndex(self.rule.findData(p.rule))
        self.station.setText(prof.settings.station)
        self.site.setText(prof.settings.site)
        self.catalog.set_location(prof.settings.catalog)
        self.ignore.setPlainText("\n".join(prof.settings.ignore))
        for k, cb in self.handoff.items():
            cb.setChecked(k in p.handoff)
        self.clips.setChecked(p.clips)
        self.thumbs.setEnabled(p.clips)
        self.thumbs.setCurrentIndex(list(THUMBNAIL_CHOICES.values()).index(p.thumbnails))
        self.auto.setChecked(p.auto_offload)
        self.eject.setChecked(p.eject_after)
        self.awake.setChecked(p.keep_awake)
        self.sound.setChecked(prof.gui.sound)
        self.roots.setText(", ".join(prof.settings.mount_roots))
        self._loading = False
        self.validate()

    def profile(self) -> Profile:
        """The profile as the form shows it: the current profile with the form's values."""
        return self._form(self.c.profile)

    def _form(self, prof: Profile) -> Profile:
        checked = [a for a in ALGORITHMS if self.algs[a].isChecked()]
        # the first is the primary hash: keep the preset's order, add newly ticked ones after it
        algs = tuple([a for a in prof.preset.algorithms if a in checked] +
                     [a for a in checked if a not in prof.preset.algorithms])
        preset = dataclasses.replace(
            prof.preset, project=self.production.text().strip(), day=self.day.value() or None,
            template=self.template.text().strip(), stage2=self.stage2_roots(), algorithms=algs,
            verify_mode=self.verify.currentText(),
            copies_required=self.copies.value(), rule=str(self.rule.currentData() or ""),
            handoff=tuple(k for k, cb in self.handoff.items() if cb.isChecked()),
            clips=self.clips.isChecked(), thumbnails=THUMBNAIL_CHOICES[self.thumbs.currentText()],
            auto_offload=self.auto.isChecked(), eject_after=self.eject.isChecked(), keep_awake=self.awake.isChecked())
        settings = dataclasses.replace(
            prof.settings, production=self.production.text().strip(), operator=self.dit.text().strip(),
            ignore=tuple(x.strip() for x in self.ignore.toPlainText().splitlines() if x.strip()),
            mount_roots=tuple(r.strip() for r in self.roots.text().split(",") if r.strip()),
            station=self.station.text().strip(), site=self.site.text().strip(), catalog=self.catalog.location())
        gui = dataclasses.replace(prof.gui, sound=self.sound.isChecked())
        return dataclasses.replace(prof, settings=settings, gui=gui).with_preset(preset)

    def validate(self) -> dict[str, str]:
        if self._loading:
            return {}
        prof = self.profile()
        problems = check(prof)
        if not prof.preset.algorithms:
            problems["algorithms"] = "Choose at least one hash (xxh64 is the industry default)."
        for key, label in self.errors.items():
            text = problems.get(key, "")
            label.setText(text)
            label.setVisible(bool(text))
        if "template" not in problems:
            root = prof.preset.destinations[0] if prof.preset.destinations else "/Volumes/SHUTTLE_01"
            try:
                self.example.setText("Example: " + example_path(prof.preset, root))
            except TemplateError as exc:
                problems["template"] = str(exc)
                self.errors["template"].setText(str(exc))
                self.errors["template"].show()
                self.example.setText("")
        else:
            self.example.setText("")
        if prof.preset.verify_mode == "size":
            self.errors["verify_mode"].setText("Size only: nothing is read back, so no card will ever be safe to "
                                               "format with this preset.")
            self.errors["verify_mode"].show()
        stage1 = ", ".join(prof.preset.destinations) or "none yet (add them under Destinations)"
        self.stage1.setText(f"Stage 1, from the card: {stage1}")
        real = {k: v for k, v in problems.items() if v}
        self.save_btn.setEnabled(not real)
        return real

    def save(self) -> bool:
        if self.validate():
            return False
        self.c.apply_profile(self.profile())
        return True

    def _switch(self) -> None:
        name = self.preset.currentText()
        self.c.apply_profile(self.c.profile.select(name), say=f"Preset “{name}” selected.")
        self.load()

    def _new(self) -> None:
        name, ok = QInputDialog.getText(self, "New preset", "Name of the new preset:")
        if ok and name.strip():
            self.add_preset(name.strip())

    def add_preset(self, name: str) -> None:
        base = self.c.preset
        self.c.apply_profile(self.c.profile.with_preset(dataclasses.replace(base, name=name)),
                             say=f"Preset “{name}” created.")
        self.load()

    def _delete(self) -> None:
        self.c.apply_profile(self.c.profile.without_preset(self.c.preset.name), say="Preset deleted.")
        self.load()
