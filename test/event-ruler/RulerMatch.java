import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import software.amazon.event.ruler.Ruler;

/**
 * Evaluates EventBridge event patterns with AWS event-ruler, the matching library of EventBridge.
 * Usage: java -cp 'lib/*' RulerMatch.java PATTERN.json... -- EVENT.json...
 * Prints one line per event: "true"/"false" for each pattern, separated by spaces.
 */
public class RulerMatch {
  public static void main(String[] args) throws Exception {
    List<String> patterns = new ArrayList<>();
    int i = 0;
    for (; i < args.length && !args[i].equals("--"); i++) patterns.add(Files.readString(Path.of(args[i])));
    for (i++; i < args.length; i++) {
      String event = Files.readString(Path.of(args[i]));
      StringBuilder line = new StringBuilder();
      for (String p : patterns) line.append(line.length() == 0 ? "" : " ").append(Ruler.matchesRule(event, p));
      System.out.println(line);
    }
  }
}
