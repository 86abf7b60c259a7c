"""Pure foundations: money in fen, errors, identity categories, ID cards, codes and their labels, workbook and chart styling."""
