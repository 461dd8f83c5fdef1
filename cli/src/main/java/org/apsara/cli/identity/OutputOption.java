package org.apsara.cli.identity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --output} option of commands that print resources, and the printing itself.
 *
 * <p>Text is for people: one resource as aligned {@code key: value} lines, a list as aligned
 * columns under an upper-case header, an empty cell as {@code -} so that every row splits into the
 * same number of words up to the last column (the one that may hold spaces). JSON is for scripts:
 * one object, or an array of objects, with the same keys as the text (the proto field names),
 * pretty-printed. A picocli mixin; not thread-safe.
 */
public final class OutputOption {
  /** How a command prints what it answers. */
  public enum Format {
    TEXT,
    JSON
  }

  /** Pretty-prints; shared because an ObjectMapper is thread-safe once configured. */
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);
  /** What a table shows for an empty value. */
  static final String EMPTY_CELL = "-";
  /** Spaces between two columns of a table. */
  private static final int COLUMN_GAP = 2;

  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
      converter = FormatConverter.class, completionCandidates = FormatNames.class,
      description = "text (for people) or json (for scripts); default: ${DEFAULT-VALUE}.")
  Format format = Format.TEXT;

  public Format format() {
    return format;
  }

  /** Prints one resource: {@code key: value} lines, or a JSON object. */
  public void printOne(PrintWriter out, Map<String, ?> fields) {
    if (format == Format.JSON) {
      printJson(out, fields);
      return;
    }
    printFields(out, fields);
  }

  /** Prints resources as a table of {@code columns} (keys of each map), or a JSON array. */
  public void printList(PrintWriter out, List<? extends Map<String, ?>> items, List<String> columns) {
    if (format == Format.JSON) {
      printJson(out, items);
      return;
    }
    List<String> header = new ArrayList<>();
    columns.forEach(column -> header.add(column.toUpperCase(Locale.ROOT)));
    TextTable table = new TextTable(header);
    for (Map<String, ?> item : items) {
      List<String> row = new ArrayList<>();
      for (String column : columns) {
        Object value = item.get(column);
        String text = value == null ? "" : String.valueOf(value);
        row.add(text.isEmpty() ? EMPTY_CELL : text);
      }
      table.add(row);
    }
    table.print(out);
  }

  /** Aligned {@code key: value} lines, whatever the format. */
  static void printFields(PrintWriter out, Map<String, ?> fields) {
    int width = 0;
    for (String key : fields.keySet()) {
      width = Math.max(width, key.length());
    }
    for (Map.Entry<String, ?> field : fields.entrySet()) {
      String value = field.getValue() == null ? "" : String.valueOf(field.getValue());
      String key = field.getKey() + ":";
      out.println(value.isEmpty() ? key : pad(key, width + 1) + " " + value);
    }
  }

  /** {@code value} as pretty-printed JSON, whatever the format. */
  static void printJson(PrintWriter out, Object value) {
    try {
      out.println(JSON.writeValueAsString(value));
    } catch (JsonProcessingException e) {
      // The views hold only strings, numbers, maps, lists and parsed JSON trees.
      throw new UncheckedIOException(e);
    }
  }

  static ObjectMapper json() {
    return JSON;
  }

  private static String pad(String text, int width) {
    return text.length() >= width ? text : text + " ".repeat(width - text.length());
  }

  /** Columns as wide as their widest cell; the last column is not padded. */
  static final class TextTable {
    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    TextTable(List<String> header) {
      this.header = List.copyOf(header);
    }

    void add(List<String> row) {
      if (row.size() != header.size()) {
        throw new IllegalArgumentException(
            "a row has " + row.size() + " cells and the header " + header.size());
      }
      rows.add(List.copyOf(row));
    }

    void print(PrintWriter out) {
      int[] widths = new int[header.size()];
      List<List<String>> lines = new ArrayList<>();
      lines.add(header);
      lines.addAll(rows);
      for (List<String> line : lines) {
        for (int i = 0; i < widths.length; i++) {
          widths[i] = Math.max(widths[i], line.get(i).length());
        }
      }
      for (List<String> line : lines) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < widths.length; i++) {
          boolean last = i == widths.length - 1;
          text.append(last ? line.get(i) : pad(line.get(i), widths[i] + COLUMN_GAP));
        }
        out.println(text.toString().stripTrailing());
      }
    }
  }

  /** Accepts the format in any case: {@code json}, {@code JSON}. */
  static final class FormatConverter implements CommandLine.ITypeConverter<Format> {
    @Override
    public Format convert(String value) {
      try {
        return Format.valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not an output format: use text or json");
      }
    }
  }

  /** The format names as help and shell completion show them. */
  static final class FormatNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
      return List.of("text", "json").iterator();
    }
  }
}
