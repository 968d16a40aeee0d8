import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.Locale;

/**
 * Renders text in the fonts reports ask for and prints which physical font drew each character:
 * "NAME|TEXT|family,family...|inked-pixels". A family Java does not have falls back to its Dialog
 * composite, whose slots come from fontconfig; sun.font tells which slot drew each glyph.
 * Run with --add-exports java.desktop/sun.font=ALL-UNNAMED.
 */
public final class FontCheck {
    public static void main(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) {
            String name = args[i];
            String text = args[i + 1];
            Font font = new Font(name, Font.PLAIN, 32);
            sun.font.Font2D f2d = sun.font.FontUtilities.getFont2D(font);
            StringBuilder families = new StringBuilder();
            for (int k = 0; k < text.length(); k++) {
                String family;
                if (f2d instanceof sun.font.CompositeFont) {
                    sun.font.CompositeFont cf = (sun.font.CompositeFont) f2d;
                    int glyph = cf.getMapper().charToGlyph(text.charAt(k));
                    family = cf.getSlotFont(glyph >>> 24).getFamilyName(Locale.ROOT);
                } else {
                    family = f2d.getFamilyName(Locale.ROOT);
                }
                if (families.indexOf(family) < 0) {
                    if (families.length() > 0) families.append(',');
                    families.append(family);
                }
            }
            BufferedImage img = new BufferedImage(400, 60, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, 400, 60);
            g.setColor(Color.BLACK);
            g.setFont(font);
            g.drawString(text, 5, 45);
            g.dispose();
            int inked = 0;
            for (int x = 0; x < img.getWidth(); x++)
                for (int y = 0; y < img.getHeight(); y++)
                    if ((img.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF) inked++;
            System.out.println(name + "|" + text + "|" + families + "|" + inked);
        }
    }
}
