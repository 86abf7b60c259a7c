"""The plain-language policy leaflet (政策大白话问答), generated from a policy pack (pure, no I/O).

Zibo printed a 医保扶贫政策大白话问答 for every poor household; leaflets written by hand drift from the rules the
window settles with. Here the leaflet is made from the same pack the counter settles by: every figure it states is
read from the policy (:mod:`yibao.leaflet.questions`), and every worked example is a synthetic claim settled by
:func:`yibao.settlement.settle.settle` and told in the slip's plain phrases (:mod:`yibao.settlement.plain`), so
leaflet and settlement cannot disagree. :func:`yibao.leaflet.build.build_leaflet` makes the structured leaflet;
:mod:`yibao.app.leaflet` renders it to HTML and PDF.
"""
