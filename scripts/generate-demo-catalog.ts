/**
 * Deterministic demo catalog generator.
 *
 * `npm run demo:generate` writes db/seed/demo-catalog.json. The output depends
 * only on the seed (default 2026): no Math.random, no clock, no locale-dependent
 * sorting, so two runs produce byte-identical files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// ---------------------------------------------------------------------------
// Output shape (validated strictly elsewhere: keep exactly these fields)
// ---------------------------------------------------------------------------

export type DemoCurrency = "EUR" | "USD";
export type DemoLocation = "paris-1" | "lyon-1";
export type DemoAttributeValue = string | number | boolean;

export interface DemoPrice {
  currency: DemoCurrency;
  amount: number;
  compareAtAmount?: number;
}

export interface DemoStock {
  location: DemoLocation;
  onHand: number;
}

export interface DemoVariant {
  sku: string;
  title: string;
  options: Record<string, string>;
  weightGrams: number;
  prices: DemoPrice[];
  stock: DemoStock[];
}

export interface DemoProduct {
  slug: string;
  title: string;
  description: string;
  brand: string;
  status: "published" | "draft";
  categories: string[];
  attributes: Record<string, DemoAttributeValue>;
  variants: DemoVariant[];
}

// ---------------------------------------------------------------------------
// Seeded PRNG (mulberry32) and helpers
// ---------------------------------------------------------------------------

type Rng = () => number;

function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error("pick() on an empty list");
  return item;
}

/** Picks `count` distinct items, keeping their original order. */
function sample<T>(rng: Rng, items: readonly T[], count: number): T[] {
  const indexes = items.map((_, i) => i);
  for (let i = indexes.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const a = indexes[i];
    const b = indexes[j];
    if (a === undefined || b === undefined) throw new Error("sample() index out of range");
    indexes[i] = b;
    indexes[j] = a;
  }
  return indexes
    .slice(0, count)
    .sort((x, y) => x - y)
    .map((i) => {
      const item = items[i];
      if (item === undefined) throw new Error("sample() index out of range");
      return item;
    });
}

function stripAccents(text: string): string {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "");
}

const SLUG_STOPWORDS = new Set(["de", "du", "des", "d", "l", "la", "le", "les", "en", "et"]);

function slugify(text: string): string {
  const words = stripAccents(text)
    .toLowerCase()
    .replace(/œ/g, "oe")
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  // Drop articles/prepositions ("de", "en", "la"…) and the "à" of "à la" / "à l'…".
  const kept = words.filter((w, i) => !SLUG_STOPWORDS.has(w) && !(w === "a" && ["l", "la", "les"].includes(words[i + 1] ?? "")));
  return (kept.length > 0 ? kept : words).join("-");
}

function skuPart(text: string): string {
  return stripAccents(text)
    .toUpperCase()
    .replace(/Œ/g, "OE")
    .replace(/[^A-Z0-9]+/g, "");
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Rounds a price in minor units to a "shop" price: 89.99, 89.90, 4.50… */
function shopPrice(cents: number, ending: "99" | "90"): number {
  if (cents < 1000) {
    // Small items (spices, stickers…): round to 10 cents, never below 1.50.
    return Math.max(150, Math.round(cents / 10) * 10);
  }
  const euros = Math.max(2, Math.round(cents / 100));
  return euros * 100 - (ending === "99" ? 1 : 10);
}

// ---------------------------------------------------------------------------
// Catalog definition
// ---------------------------------------------------------------------------

interface OptionChoice {
  value: string;
  label: string;
  priceFactor: number;
  weightFactor: number;
}

interface Axis {
  key: string;
  choices: readonly OptionChoice[];
  min: number;
  max: number;
  contiguous: boolean;
}

interface TitleSpec {
  t: string;
  axes?: readonly Axis[];
  price?: readonly [number, number];
  weight?: readonly [number, number];
  attrs?: Readonly<Record<string, DemoAttributeValue>>;
  brand?: string;
  /** Always published, never discounted (used by search tests). */
  pinned?: boolean;
}

interface ProductType {
  code: string;
  category: string;
  brands: readonly string[];
  titles: readonly (string | TitleSpec)[];
  /** EUR minor units, for the reference option (factor 1). */
  price: readonly [number, number];
  weight: readonly [number, number];
  axes: readonly Axis[];
  attributes: Readonly<Record<string, readonly DemoAttributeValue[]>>;
  pitches: readonly string[];
  maxStock?: number;
}

function opt(value: string, priceFactor = 1, weightFactor = priceFactor, label?: string): OptionChoice {
  return { value, label: label ?? capitalize(value), priceFactor, weightFactor };
}

function axis(
  key: string,
  values: readonly (string | OptionChoice)[],
  min: number,
  max: number,
  contiguous = false,
): Axis {
  const choices = values.map((v) => (typeof v === "string" ? opt(v, 1, 1) : v));
  return { key, choices, min, max, contiguous };
}

function named(base: string, names: readonly string[]): string[] {
  return names.map((n) => `${base} ${n}`);
}

// Palettes
const C_CLOTH = ["noir", "blanc", "bleu marine", "écru", "kaki", "bordeaux", "gris chiné", "terracotta", "vert sauge", "camel"];
const C_SHOE = ["noir", "blanc", "gris", "bleu nuit", "marron", "beige", "vert olive"];
const C_RUN = ["noir", "blanc", "bleu électrique", "orange fluo", "gris", "vert menthe", "rouge"];
const C_LEATHER = ["noir", "cognac", "marron", "taupe", "bordeaux", "naturel"];
const C_OUTDOOR = ["noir", "bleu pétrole", "rouge", "vert forêt", "jaune moutarde", "gris anthracite"];
const C_TECH = ["noir", "blanc", "graphite", "bleu", "argent", "rose poudré"];
const C_HOME = ["blanc", "noir", "gris perle", "bleu canard", "vert sauge", "terracotta", "naturel", "moutarde"];
const C_LINEN = ["blanc", "naturel", "gris perle", "bleu ardoise", "rose poudré", "vert sauge", "terracotta"];
const C_KIDS = ["bleu ciel", "rose pâle", "jaune soleil", "vert d'eau", "gris", "écru", "rouge"];

// Reusable axes
const colour = (palette: readonly string[], min = 1, max = 2): Axis => axis("colour", palette, min, max);
const A_SIZE_W = axis("size", ["XS", "S", "M", "L", "XL"], 2, 4, true);
const A_SIZE_M = axis("size", ["S", "M", "L", "XL", "XXL"], 2, 4, true);
const A_SIZE_U = axis("size", ["XS", "S", "M", "L", "XL", "XXL"], 2, 4, true);
const A_WAIST = axis("size", ["38", "40", "42", "44", "46", "48"], 2, 4, true);
const A_SHOE = axis("size", ["36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46"], 2, 4, true);
const A_SHOE_RUN = axis("size", ["38", "39", "40", "41", "42", "43", "44", "45", "46"], 2, 4, true);
const A_SHOE_BABY = axis("size", ["18", "19", "20", "21", "22", "23", "24"], 2, 4, true);
const A_SHOE_KID = axis("size", ["24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35"], 2, 4, true);
const A_KID_AGE = axis("size", ["3 ans", "4 ans", "6 ans", "8 ans", "10 ans", "12 ans"], 2, 4, true);
const A_BABY_AGE = axis("size", ["naissance", "3 mois", "6 mois", "12 mois", "18 mois", "24 mois"], 2, 4, true);
const A_VOLUME = axis("volume", [opt("30 ml", 0.7, 0.7), opt("50 ml", 1, 1), opt("100 ml", 1.55, 1.8)], 1, 2, true);
const A_VOLUME_LARGE = axis("volume", [opt("100 ml", 0.7, 0.45), opt("200 ml", 1, 1), opt("500 ml", 1.9, 2.4)], 1, 2, true);
const A_PERFUME = axis("volume", [opt("30 ml", 0.62, 0.7), opt("50 ml", 1, 1), opt("100 ml", 1.5, 1.6)], 1, 3, true);
const A_COFFEE = axis("weight", [opt("250 g", 1, 1), opt("500 g", 1.85, 1.9), opt("1 kg", 3.4, 3.7)], 1, 3, true);
const A_JAR = axis("weight", [opt("125 g", 0.6, 0.6), opt("250 g", 1, 1), opt("500 g", 1.75, 1.85)], 1, 2, true);
const A_BOTTLE = axis("volume", [opt("25 cl", 0.6, 0.55), opt("50 cl", 1, 1), opt("75 cl", 1.4, 1.45), opt("1 l", 1.8, 1.9)], 1, 3, true);
const A_PHONE = axis("capacity", [opt("128 Go", 1, 1), opt("256 Go", 1.15, 1), opt("512 Go", 1.38, 1)], 1, 3, true);
const A_LAPTOP = axis("capacity", [opt("256 Go", 1, 1), opt("512 Go", 1.14, 1), opt("1 To", 1.35, 1)], 1, 3, true);
const A_STORAGE = axis("capacity", [opt("64 Go", 0.6, 1), opt("128 Go", 0.75, 1), opt("256 Go", 1, 1), opt("512 Go", 1.4, 1), opt("1 To", 2, 1), opt("2 To", 3.3, 1.05)], 1, 4, true);
const A_BED = axis("size", [opt("140 x 200", 1, 1), opt("160 x 200", 1.12, 1.12), opt("200 x 200", 1.3, 1.3), opt("240 x 220", 1.5, 1.5), opt("260 x 240", 1.7, 1.7)], 1, 3, true);
const A_TOWEL = axis("size", [opt("30 x 50", 0.35, 0.3), opt("50 x 100", 0.7, 0.7), opt("70 x 140", 1, 1), opt("100 x 150", 1.4, 1.5)], 1, 3, true);
const A_PILLOW = axis("size", [opt("50 x 70", 1, 1), opt("65 x 65", 1.1, 1.1)], 1, 2);
const A_CANDLE = axis("size", [opt("180 g", 1, 1), opt("400 g", 1.8, 2)], 1, 2, true);

const single = (key: string, value: string): Axis => axis(key, [value], 1, 1);

const TYPES: readonly ProductType[] = [
  // ------------------------------------------------------------------ Mode
  {
    code: "ROB",
    category: "Mode > Femme > Robes",
    brands: ["Maison Lérot", "Atelier Capucine", "Côte & Lin", "Belle Saison"],
    titles: ["Robe portefeuille Capucine", "Robe midi Lila", "Robe chemise Albane", "Robe en lin Solène", "Robe pull Margaux", "Robe longue Azur"],
    price: [4990, 12900],
    weight: [220, 480],
    axes: [A_SIZE_W, colour(C_CLOTH)],
    attributes: { material: ["lin", "coton bio", "viscose", "crêpe", "laine mérinos"], fit: ["ajustée", "droite", "ample"], gender: ["femme"], made_in_france: [true, false] },
    pitches: ["Une robe facile à porter qui passe du bureau au dîner sans effort.", "Coupe pensée pour bouger librement, dans un tissu qui se froisse peu.", "Une pièce intemporelle, à accessoiriser selon les saisons."],
  },
  {
    code: "PUL",
    category: "Mode > Femme > Pulls & gilets",
    brands: ["Maison Lérot", "Bel Hiver", "Laines de Bretagne"],
    titles: ["Pull en laine mérinos", "Pull col roulé Ondine", "Gilet en cachemire Suzon", "Pull marin Belle-Île", "Cardigan torsadé Anouk"],
    price: [5990, 16900],
    weight: [280, 520],
    axes: [A_SIZE_W, colour(C_CLOTH)],
    attributes: { material: ["laine mérinos", "cachemire", "alpaga", "coton"], knit: ["jersey", "côtes", "torsades"], gender: ["femme"], made_in_france: [true, false] },
    pitches: ["Une maille douce et chaude qui ne gratte pas, pour les journées fraîches.", "Un essentiel d'hiver tricoté avec soin, qui garde sa forme lavage après lavage."],
  },
  {
    code: "CHM",
    category: "Mode > Homme > Chemises",
    brands: ["Atelier Sauvage", "Côte & Lin", "Maison Colbert Paris"],
    titles: ["Chemise en lin Riviera", "Chemise Oxford Hugo", "Chemise en flanelle Corentin", "Chemise en jean Malo", "Surchemise en velours Gaspard"],
    price: [4990, 9900],
    weight: [230, 420],
    axes: [A_SIZE_M, colour(C_CLOTH)],
    attributes: { material: ["lin", "coton", "coton bio", "flanelle de coton"], fit: ["ajustée", "droite", "décontractée"], gender: ["homme"] },
    pitches: ["Une chemise bien coupée, aussi à l'aise sous une veste qu'avec un jean.", "Tissu respirant et finitions soignées : col tenu, boutons en corozo."],
  },
  {
    code: "PAN",
    category: "Mode > Homme > Pantalons",
    brands: ["Atelier Sauvage", "Denim de Nîmes", "Maison Colbert Paris"],
    titles: ["Pantalon chino Léon", "Jean droit Marcel", "Jean slim Anatole", "Pantalon en velours côtelé Jules", "Bermuda en lin Sacha"],
    price: [5990, 11900],
    weight: [380, 720],
    axes: [A_WAIST, colour(C_CLOTH)],
    attributes: { material: ["denim", "coton stretch", "velours côtelé", "lin"], fit: ["droite", "slim", "fuselée"], gender: ["homme"] },
    pitches: ["Un pantalon confortable toute la journée, à la coupe nette.", "Une toile solide qui se patine joliment avec le temps."],
  },
  {
    code: "TSH",
    category: "Mode > Homme > T-shirts & polos",
    brands: ["Atelier Sauvage", "Côte & Lin", "Bon Coton"],
    titles: ["T-shirt en coton bio Essentiel", "T-shirt rayé Marinière", "Polo piqué Arthur", "T-shirt col V Simon"],
    price: [2490, 5990],
    weight: [150, 280],
    axes: [A_SIZE_M, colour(C_CLOTH)],
    attributes: { material: ["coton bio", "coton piqué", "jersey de coton"], gender: ["homme"], organic: [true, false] },
    pitches: ["Un jersey épais et doux qui garde sa tenue au fil des lavages.", "La base d'une garde-robe durable, tricotée et confectionnée au Portugal."],
  },
  {
    code: "CHV",
    category: "Mode > Chaussures > Ville",
    brands: ["Cordonnerie Auguste", "Maison Lérot", "Pas de Deux"],
    titles: ["Chaussures de ville Derby Auguste", "Chaussures bateau Cap Ferret", "Mocassins en daim Riviera", "Bottines Chelsea Camille", "Chaussures en cuir Richelieu", "Escarpins Lou", "Sandales en cuir Ibiza"],
    price: [8990, 22900],
    weight: [520, 980],
    axes: [A_SHOE, colour(C_LEATHER)],
    attributes: { upper: ["cuir pleine fleur", "daim", "cuir verni"], sole: ["cuir", "gomme", "crêpe"], resolable: [true, false] },
    pitches: ["Montées avec un cousu Blake, elles se ressemellent facilement.", "Un cuir souple qui se fait au pied dès les premiers jours."],
  },
  {
    code: "BSK",
    category: "Mode > Chaussures > Baskets",
    brands: ["Pas de Deux", "Urbain Sneakers", "Comptoir Sport"],
    titles: ["Baskets en cuir Oslo", "Baskets en toile Saint-Tropez", "Baskets montantes Brooklyn", "Sneakers rétro Tokyo", "Baskets véganes Lisbonne", "Chaussures en toile Biarritz"],
    price: [6990, 14900],
    weight: [580, 900],
    axes: [A_SHOE, colour(C_SHOE)],
    attributes: { upper: ["cuir", "toile de coton", "daim", "matière recyclée"], vegan: [true, false], gender: ["unisexe"] },
    pitches: ["Une silhouette épurée qui va avec tout, semaine comme week-end.", "Semelle amortissante et première de propreté amovible pour le confort au quotidien."],
  },
  {
    code: "SAC",
    category: "Mode > Accessoires > Sacs",
    brands: ["Maroquinerie Joséphine", "Atelier Capucine", "Côte & Lin"],
    titles: ["Sac cabas en toile", "Sac à main en cuir Joséphine", "Sac bandoulière Ninon", "Sac à dos urbain Métro", "Pochette en cuir Iris"],
    price: [3990, 24900],
    weight: [300, 1200],
    axes: [colour(C_LEATHER, 1, 3)],
    attributes: { material: ["cuir de vachette", "toile de coton", "toile enduite", "cuir grainé"], closure: ["zip", "aimant", "boucle"], laptop_sleeve: [true, false] },
    pitches: ["Assez grand pour le quotidien, assez léger pour l'oublier à l'épaule.", "Poches intérieures bien pensées et coutures renforcées aux points d'usure."],
  },
  {
    code: "ACC",
    category: "Mode > Accessoires > Écharpes & bonnets",
    brands: ["Bel Hiver", "Laines de Bretagne", "Maison Lérot"],
    titles: ["Écharpe en cachemire", "Bonnet en laine côtelée", "Étole en soie Paloma", "Gants en cuir doublés"],
    price: [2990, 12900],
    weight: [80, 260],
    axes: [colour(C_CLOTH, 1, 4)],
    attributes: { material: ["cachemire", "laine mérinos", "soie", "cuir d'agneau"], gender: ["unisexe"] },
    pitches: ["Un accessoire doux et chaud qui réveille une tenue d'hiver.", "Finitions main et fibres nobles, pour un accessoire qui dure des années."],
  },
  {
    code: "BIJ",
    category: "Mode > Accessoires > Montres & bijoux",
    brands: ["Maison Solstice", "Atelier Or Fin"],
    titles: ["Montre en acier Solstice", "Bracelet jonc doré", "Boucles d'oreilles Perle", "Montre automatique Méridien"],
    price: [3990, 29900],
    weight: [20, 160],
    axes: [axis("colour", ["doré", "argenté", "or rose"], 1, 3)],
    attributes: { material: ["acier inoxydable", "laiton doré à l'or fin", "argent 925"], water_resistant: [true, false], hypoallergenic: [true, false] },
    pitches: ["Un bijou discret, à porter seul ou à accumuler.", "Livré dans un écrin, prêt à offrir."],
  },
  // ----------------------------------------------------------------- Sport
  {
    code: "RUN",
    category: "Sport > Chaussures > Running",
    brands: ["Comptoir Sport", "Foulée", "Alpinea"],
    titles: [
      ...named("Chaussure de running", ["Aéro", "Tempo", "Foulée", "Nuage", "Vélocité", "Marathon"]),
      "Chaussures de trail Cimes",
      "Chaussures de trail Sentier",
    ],
    price: [7990, 16900],
    weight: [240, 340],
    axes: [A_SHOE_RUN, colour(C_RUN)],
    attributes: { material: ["mesh", "mesh recyclé", "tricot technique"], drop_mm: [4, 6, 8, 10], cushioning: ["dynamique", "équilibré", "maximal"], gender: ["unisexe"] },
    pitches: ["Un amorti réactif et une tige respirante pour enchaîner les kilomètres.", "Pensée pour l'entraînement quotidien comme pour le jour de course.", "Semelle en gomme crantée pour une bonne accroche sur route mouillée."],
  },
  {
    code: "RAN",
    category: "Sport > Chaussures > Randonnée",
    brands: ["Alpinea", "Sentiers de France", "Comptoir Sport"],
    titles: [
      "Chaussures de randonnée Vercors",
      "Chaussures de randonnée Mercantour",
      "Chaussures de randonnée imperméables Écrins",
      "Chaussures de marche Causses",
      "Bottes de randonnée Pyrénées",
      "Sandales de randonnée Gorges",
    ],
    price: [8990, 19900],
    weight: [700, 1300],
    axes: [A_SHOE, colour(C_OUTDOOR, 1, 1)],
    attributes: { waterproof: [true, false], upper: ["cuir nubuck", "textile", "cuir et textile"], sole: ["Vibram", "gomme crantée"], gender: ["unisexe"] },
    pitches: ["Maintien de la cheville et semelle crantée pour les sentiers caillouteux.", "Une chaussure stable et confortable pour les longues journées de marche."],
  },
  {
    code: "SVR",
    category: "Sport > Vêtements > Running",
    brands: ["Comptoir Sport", "Foulée", "Ondine Sport"],
    titles: ["T-shirt technique Respire", "Legging de running Élan", "Short de running Sprint", "Veste coupe-vent Zéphyr", "Brassière de sport Maintien"],
    price: [1990, 8990],
    weight: [60, 260],
    axes: [A_SIZE_U, colour(C_RUN)],
    attributes: { material: ["polyester recyclé", "polyamide", "mérinos technique"], reflective: [true, false], gender: ["unisexe", "femme", "homme"] },
    pitches: ["Tissu léger qui évacue la transpiration et sèche en un rien de temps.", "Coutures plates et détails réfléchissants pour courir tôt ou tard."],
  },
  {
    code: "SVO",
    category: "Sport > Vêtements > Outdoor",
    brands: ["Alpinea", "Sentiers de France"],
    titles: ["Veste imperméable Orage", "Doudoune légère Plume", "Polaire zippée Refuge", "Pantalon de randonnée Crête"],
    price: [4990, 22900],
    weight: [250, 750],
    axes: [A_SIZE_U, colour(C_OUTDOOR)],
    attributes: { waterproof: [true, false], packable: [true, false], gender: ["unisexe", "femme", "homme"] },
    pitches: ["Coupe ergonomique et matière technique pour affronter le vent et la pluie.", "Se range dans sa propre poche : indispensable dans le sac de rando."],
  },
  {
    code: "YOG",
    category: "Sport > Fitness > Yoga & pilates",
    brands: ["Lotus & Co", "Ondine Sport"],
    titles: [
      { t: "Tapis de yoga Lotus", weight: [1400, 1900] },
      { t: "Tapis de yoga antidérapant Ancrage", weight: [2000, 2600] },
      { t: "Brique de yoga en liège", price: [1490, 2490], weight: [350, 500], attrs: { material: "liège" } },
      { t: "Sangle de yoga en coton", price: [990, 1790], weight: [120, 180], attrs: { material: "coton" } },
      { t: "Coussin de méditation Zafu", price: [3490, 5990], weight: [1500, 2200] },
      { t: "Ballon de pilates", price: [1490, 2990], weight: [900, 1200], attrs: { material: "PVC sans phtalates" } },
    ],
    price: [2990, 8990],
    weight: [1000, 2000],
    axes: [colour(C_HOME, 1, 3)],
    attributes: { material: ["caoutchouc naturel", "TPE", "liège et caoutchouc"], eco_friendly: [true, false] },
    pitches: ["Une bonne adhérence et un confort stable pour les postures au sol.", "Des matériaux sains, sans PVC, agréables au toucher."],
  },
  {
    code: "MUS",
    category: "Sport > Fitness > Musculation",
    brands: ["Force Brute", "Comptoir Sport"],
    titles: [
      {
        t: "Haltère hexagonal",
        axes: [axis("weight", [opt("2 kg", 0.45, 0.333), opt("4 kg", 0.75, 0.667), opt("6 kg", 1, 1), opt("8 kg", 1.3, 1.333), opt("10 kg", 1.6, 1.667)], 2, 4, true)],
        price: [2490, 2990],
        weight: [6000, 6000],
      },
      {
        t: "Kettlebell en fonte",
        axes: [axis("weight", [opt("8 kg", 0.75, 0.667), opt("12 kg", 1, 1), opt("16 kg", 1.3, 1.333), opt("20 kg", 1.6, 1.667), opt("24 kg", 1.9, 2)], 2, 4, true)],
        price: [3990, 4990],
        weight: [12000, 12000],
      },
      { t: "Bandes de résistance", axes: [axis("resistance", ["légère", "moyenne", "forte", "extra-forte"], 2, 4, true)], price: [990, 1990], weight: [80, 150] },
      { t: "Corde à sauter lestée", axes: [colour(C_RUN, 1, 2)], price: [1490, 2990], weight: [300, 500] },
      { t: "Banc de musculation pliable", axes: [single("colour", "noir")], price: [11900, 19900], weight: [14000, 22000] },
      { t: "Barre de traction murale", axes: [single("colour", "noir")], price: [3990, 6990], weight: [3500, 5000] },
    ],
    price: [2990, 5990],
    weight: [1000, 3000],
    axes: [single("colour", "noir")],
    attributes: { material: ["fonte", "acier", "latex naturel", "acier et néoprène"], home_use: [true] },
    pitches: ["Un équipement robuste pour s'entraîner à la maison comme en salle.", "Conçu pour durer, avec des finitions qui protègent le sol et les mains."],
  },
  {
    code: "VEL",
    category: "Sport > Vélo > Équipement",
    brands: ["Roue Libre", "Comptoir Sport", "Vélocité"],
    titles: [
      { t: "Casque de vélo urbain", axes: [axis("size", ["S", "M", "L"], 2, 3, true), colour(C_OUTDOOR)], weight: [280, 420] },
      { t: "Casque de vélo route Vent", axes: [axis("size", ["S", "M", "L"], 2, 3, true), colour(C_RUN)], price: [7990, 14900], weight: [220, 300] },
      { t: "Éclairage vélo rechargeable", price: [2490, 4990], weight: [90, 180] },
      { t: "Antivol en U", price: [3490, 6990], weight: [900, 1400] },
      { t: "Sacoche de porte-bagages", price: [4990, 8990], weight: [700, 1100], attrs: { waterproof: true } },
      { t: "Gants de vélo", axes: [axis("size", ["S", "M", "L", "XL"], 2, 4, true)], price: [1990, 3990], weight: [60, 110] },
    ],
    price: [4990, 9990],
    weight: [200, 600],
    axes: [colour(["noir", "gris anthracite", "jaune fluo"], 1, 1)],
    attributes: { usage: ["ville", "route", "VTT", "polyvalent"], waterproof: [true, false] },
    pitches: ["L'équipement indispensable pour rouler en sécurité, en ville comme sur route.", "Léger, solide et facile à installer sur tous les vélos."],
  },
  {
    code: "TEN",
    category: "Sport > Camping > Tentes & couchage",
    brands: ["Bivouac", "Alpinea"],
    titles: [
      { t: "Tente 2 places Bivouac", price: [12900, 24900], weight: [1800, 2600] },
      { t: "Tente familiale 4 places", price: [19900, 39900], weight: [6500, 9500] },
      { t: "Sac de couchage Grand Froid", price: [8990, 19900], weight: [1100, 1700], attrs: { comfort_temperature_c: -5 } },
      { t: "Matelas autogonflant", price: [4990, 9990], weight: [700, 1200] },
    ],
    price: [4990, 19900],
    weight: [1000, 3000],
    axes: [colour(C_OUTDOOR, 1, 2)],
    attributes: { season: ["3 saisons", "4 saisons"], packed_volume_l: [4, 6, 9, 12, 18] },
    pitches: ["Montage rapide et compacité pour les nuits en pleine nature.", "Testé en montagne pour offrir confort et chaleur au bivouac."],
  },
  {
    code: "CPA",
    category: "Sport > Camping > Accessoires",
    brands: ["Bivouac", "Alpinea", "Gourdes Alpines"],
    titles: ["Lampe frontale Lumen 400", "Réchaud à gaz compact", "Gourde isotherme 750 ml", "Couteau pliant de poche"],
    price: [1490, 5990],
    weight: [80, 450],
    axes: [colour(C_OUTDOOR, 1, 3)],
    attributes: { material: ["acier inoxydable", "aluminium", "plastique recyclé"], ultralight: [true, false] },
    pitches: ["Un accessoire compact qui trouve sa place dans tous les sacs.", "Robuste et léger, pensé pour les week-ends en autonomie."],
  },
  {
    code: "NAT",
    category: "Sport > Natation",
    brands: ["Ondine Sport", "Comptoir Sport"],
    titles: [
      { t: "Maillot de bain Crawl", axes: [A_SIZE_U, colour(C_RUN)] },
      { t: "Lunettes de natation Ondine", price: [1490, 3490], weight: [40, 70] },
      { t: "Bonnet de bain en silicone", price: [790, 1490], weight: [40, 60] },
      { t: "Serviette microfibre", axes: [axis("size", [opt("60 x 120", 0.8, 0.7), opt("80 x 160", 1, 1)], 1, 2), colour(C_RUN, 1, 2)], price: [1990, 2990], weight: [250, 350] },
    ],
    price: [2490, 5990],
    weight: [80, 200],
    axes: [colour(C_RUN, 1, 3)],
    attributes: { chlorine_resistant: [true, false], material: ["polyester recyclé", "silicone", "microfibre"] },
    pitches: ["Résiste au chlore et sèche vite, pour nager plusieurs fois par semaine.", "Un équipement confortable pour progresser longueur après longueur."],
  },
  // ---------------------------------------------------------------- Maison
  {
    code: "THE",
    category: "Maison > Cuisine > Thé & café",
    brands: ["Fonte & Fer", "Maison Colbert", "Atelier Grès"],
    titles: [
      { t: "Théière en fonte", pinned: true, price: [4990, 5990], weight: [1300, 1500], attrs: { material: "fonte émaillée", capacity_ml: 800 } },
      { t: "Théière en fonte Hokkaido", price: [6990, 8990], weight: [1500, 1800], attrs: { material: "fonte émaillée", capacity_ml: 1200 } },
      { t: "Théière en verre Jardin", price: [2990, 3990], weight: [500, 650], attrs: { material: "verre borosilicate", capacity_ml: 1000 } },
      { t: "Bouilloire à col de cygne", price: [5990, 8990], weight: [900, 1200], attrs: { material: "acier inoxydable", capacity_ml: 1000 } },
      { t: "Cafetière à piston", price: [2990, 4990], weight: [600, 800], attrs: { material: "verre et inox", capacity_ml: 1000 } },
      { t: "Cafetière italienne Moka", price: [2490, 4490], weight: [500, 700], attrs: { material: "aluminium", capacity_ml: 300 } },
      { t: "Moulin à café manuel", price: [3990, 6990], weight: [400, 600], attrs: { material: "bois et acier", capacity_ml: 40 } },
      { t: "Tasses à espresso (lot de 4)", price: [2490, 3490], weight: [500, 650], attrs: { material: "porcelaine", capacity_ml: 80 } },
    ],
    price: [2990, 6990],
    weight: [500, 1500],
    axes: [colour(["noir", "rouge", "bleu nuit", "vert jade", "blanc", "naturel"], 1, 3)],
    attributes: { material: ["fonte émaillée"], capacity_ml: [500], dishwasher_safe: [false, true] },
    pitches: ["Un bel objet du quotidien qui fait de la pause thé ou café un petit rituel.", "Conserve la chaleur longtemps et révèle tous les arômes.", "Un classique de la cuisine, robuste et agréable à utiliser."],
  },
  {
    code: "UST",
    category: "Maison > Cuisine > Ustensiles",
    brands: ["Fonte & Fer", "Coutellerie du Thiers", "Maison Colbert"],
    titles: [
      { t: "Poêle en acier carbone", axes: [axis("size", [opt("24 cm", 0.85, 0.8), opt("28 cm", 1, 1), opt("32 cm", 1.25, 1.3)], 1, 3, true)], price: [3990, 5990], weight: [1400, 1900], attrs: { material: "acier carbone" } },
      { t: "Cocotte en fonte émaillée", axes: [axis("size", [opt("20 cm", 0.8, 0.75), opt("24 cm", 1, 1), opt("28 cm", 1.25, 1.3)], 1, 3, true), colour(["rouge", "noir", "bleu nuit", "vert jade", "blanc"], 1, 2)], price: [12900, 17900], weight: [4500, 5500], attrs: { material: "fonte émaillée" } },
      { t: "Couteau de chef japonais", axes: [axis("size", [opt("18 cm", 0.9, 0.9), opt("21 cm", 1, 1)], 1, 2)], price: [6990, 12900], weight: [160, 240], attrs: { material: "acier damassé" } },
      { t: "Planche à découper en noyer", axes: [axis("size", [opt("30 x 20 cm", 0.8, 0.7), opt("40 x 25 cm", 1, 1), opt("50 x 30 cm", 1.35, 1.5)], 1, 3, true)], price: [3990, 5990], weight: [1200, 1800], attrs: { material: "noyer" } },
      { t: "Casserole en cuivre", axes: [axis("size", [opt("16 cm", 0.85, 0.8), opt("20 cm", 1, 1)], 1, 2)], price: [8990, 14900], weight: [1100, 1500], attrs: { material: "cuivre étamé" } },
      { t: "Mandoline de cuisine", price: [2990, 4990], weight: [500, 800], attrs: { material: "acier inoxydable" } },
      { t: "Moule à tarte en céramique", axes: [axis("size", [opt("24 cm", 0.9, 0.85), opt("28 cm", 1, 1)], 1, 2), colour(C_HOME, 1, 1)], price: [2490, 3490], weight: [900, 1200], attrs: { material: "céramique" } },
    ],
    price: [1990, 5990],
    weight: [200, 1200],
    axes: [single("colour", "inox")],
    attributes: { material: ["acier inoxydable"], induction_compatible: [true, false], dishwasher_safe: [true, false], made_in_france: [true, false] },
    pitches: ["Un ustensile de chef, pensé pour durer toute une vie en cuisine.", "Prise en main équilibrée et matériaux sains, sans revêtement superflu."],
  },
  {
    code: "TAB",
    category: "Maison > Art de la table",
    brands: ["Atelier Grès", "Verrerie de Biot", "Maison Colbert"],
    titles: [
      { t: "Assiettes plates en grès (lot de 4)", attrs: { material: "grès émaillé" } },
      { t: "Bols en céramique (lot de 4)", attrs: { material: "céramique" } },
      { t: "Verres à vin Bourgogne (lot de 6)", axes: [single("colour", "transparent")], attrs: { material: "cristallin" } },
      { t: "Carafe en verre soufflé", axes: [axis("colour", ["transparent", "ambre", "vert bouteille"], 1, 2)], price: [2990, 4990], weight: [700, 900], attrs: { material: "verre soufflé bouche" } },
      { t: "Nappe en lin lavé", axes: [axis("size", [opt("150 x 150", 0.8, 0.8), opt("150 x 250", 1, 1), opt("150 x 300", 1.2, 1.2)], 1, 3, true), colour(C_LINEN, 1, 2)], price: [5990, 8990], weight: [700, 1000], attrs: { material: "lin lavé" } },
      { t: "Couverts en inox (24 pièces)", axes: [axis("colour", ["inox brossé", "noir mat", "doré"], 1, 3)], price: [7990, 14900], weight: [1800, 2400], attrs: { material: "acier inoxydable 18/10" } },
    ],
    price: [3490, 6990],
    weight: [1600, 2600],
    axes: [colour(["blanc", "gris perle", "bleu canard", "terracotta", "vert sauge", "sable"], 1, 3)],
    attributes: { material: ["grès"], dishwasher_safe: [true, false], handmade: [true, false] },
    pitches: ["Des pièces artisanales pour dresser une jolie table au quotidien.", "Chaque pièce est légèrement unique, fruit d'un travail à la main."],
  },
  {
    code: "LUM",
    category: "Maison > Décoration > Luminaires",
    brands: ["Lumen Maison", "Atelier Grès"],
    titles: ["Lampe à poser Dune", "Suspension en rotin Bali", "Lampadaire arc Orbite", "Applique murale Laiton", "Guirlande lumineuse Guinguette"],
    price: [3990, 24900],
    weight: [600, 4500],
    axes: [colour(["naturel", "noir", "blanc", "laiton", "terracotta"], 1, 2)],
    attributes: { bulb_socket: ["E27", "E14", "GU10"], bulb_included: [true, false], dimmable: [true, false] },
    pitches: ["Une lumière douce et chaleureuse qui habille la pièce.", "Un luminaire au design épuré, facile à installer."],
  },
  {
    code: "BOU",
    category: "Maison > Décoration > Bougies & senteurs",
    brands: ["Jardin de Grasse", "Maison Colbert", "Cire & Mèche"],
    titles: [
      ...named("Bougie parfumée", ["Figuier", "Feu de bois", "Fleur d'oranger", "Thé noir", "Mimosa"]),
      { t: "Diffuseur de parfum Ambre", axes: [A_VOLUME_LARGE], price: [2990, 4490], weight: [350, 500] },
      { t: "Brume d'oreiller Lavande", axes: [A_VOLUME_LARGE], price: [1490, 2490], weight: [150, 250] },
    ],
    price: [2490, 4990],
    weight: [350, 450],
    axes: [A_CANDLE],
    attributes: { wax: ["cire végétale de colza", "cire de soja", "cire d'abeille"], burn_time_hours: [35, 45, 60], made_in_france: [true] },
    pitches: ["Un parfum coulé à Grasse, pour une ambiance enveloppante à la maison.", "Des senteurs naturelles qui se diffusent délicatement, sans entêter."],
  },
  {
    code: "DEC",
    category: "Maison > Décoration > Objets déco",
    brands: ["Atelier Grès", "Lumen Maison", "Maison Colbert"],
    titles: ["Vase en céramique Galet", "Miroir rond en rotin", "Cadre photo en chêne", "Coussin en velours", "Panier en jonc de mer"],
    price: [1990, 8990],
    weight: [300, 2500],
    axes: [colour(C_HOME, 1, 3)],
    attributes: { handmade: [true, false], material: ["céramique", "rotin", "chêne", "velours de coton", "jonc de mer"] },
    pitches: ["Une touche de caractère pour le salon, l'entrée ou la chambre.", "Un objet fait main, aux matières naturelles et aux lignes simples."],
  },
  {
    code: "LIT",
    category: "Maison > Linge de maison > Literie",
    brands: ["Côte & Lin", "Maison Colbert", "Filature des Vosges"],
    titles: [
      { t: "Housse de couette en lin lavé", axes: [A_BED, colour(C_LINEN, 1, 2)], attrs: { material: "lin lavé" } },
      { t: "Parure de lit en percale", axes: [A_BED, colour(C_LINEN, 1, 2)], attrs: { material: "percale de coton" } },
      { t: "Drap-housse en coton bio", axes: [axis("size", [opt("90 x 190", 0.7, 0.7), opt("140 x 190", 0.9, 0.9), opt("160 x 200", 1, 1), opt("180 x 200", 1.1, 1.1)], 1, 3, true), colour(C_LINEN, 1, 2)], price: [2990, 4990], weight: [500, 800], attrs: { material: "coton bio" } },
      { t: "Taie d'oreiller en lin", axes: [A_PILLOW, colour(C_LINEN, 1, 3)], price: [1990, 2990], weight: [150, 250], attrs: { material: "lin lavé" } },
      { t: "Oreiller en duvet", axes: [A_PILLOW], price: [5990, 9990], weight: [800, 1200], attrs: { material: "duvet et plumes" } },
      { t: "Couette tempérée", axes: [A_BED], price: [8990, 14900], weight: [1800, 2400], attrs: { material: "fibres recyclées" } },
    ],
    price: [8990, 17900],
    weight: [1200, 1800],
    axes: [A_BED],
    attributes: { material: ["lin lavé"], oeko_tex: [true, false], made_in_france: [true, false] },
    pitches: ["Un linge de lit doux et respirant, qui s'assouplit lavage après lavage.", "Certifié sans substances nocives, pour des nuits sereines."],
  },
  {
    code: "BAI",
    category: "Maison > Linge de maison > Plaids & bain",
    brands: ["Filature des Vosges", "Côte & Lin"],
    titles: [
      { t: "Plaid en laine", axes: [colour(C_HOME, 1, 3)], price: [6990, 11900], weight: [900, 1300], attrs: { material: "laine vierge" } },
      { t: "Plaid en coton gaufré", axes: [colour(C_HOME, 1, 3)], price: [3990, 5990], weight: [800, 1100], attrs: { material: "coton" } },
      { t: "Serviette de bain en coton", attrs: { material: "coton éponge" } },
      { t: "Drap de bain nid d'abeille", attrs: { material: "coton nid d'abeille" } },
      { t: "Peignoir en éponge", axes: [A_SIZE_U, colour(C_LINEN, 1, 1)], price: [4990, 7990], weight: [900, 1300], attrs: { material: "coton éponge" } },
    ],
    price: [1990, 3490],
    weight: [400, 700],
    axes: [A_TOWEL, colour(C_LINEN, 1, 2)],
    attributes: { material: ["coton éponge"], oeko_tex: [true, false], grammage_gsm: [450, 500, 600] },
    pitches: ["Un textile moelleux et absorbant, tissé pour durer.", "Des couleurs douces qui s'accordent à toutes les salles de bain."],
  },
  // ---------------------------------------------------------------- Beauté
  {
    code: "VIS",
    category: "Beauté > Soins du visage > Crèmes",
    brands: ["Aube Cosmétiques", "Pure Sève", "Éclat Nature"],
    titles: [
      { t: "Crème hydratante", pinned: true, price: [2490, 2990] },
      "Crème hydratante légère",
      "Crème hydratante riche",
      "Crème de nuit régénérante",
      { t: "Crème contour des yeux", axes: [single("volume", "15 ml")], price: [2490, 3990], weight: [60, 80] },
      { t: "Crème solaire visage SPF 50", attrs: { spf: 50 } },
      "Crème anti-âge Jeunesse",
    ],
    price: [1990, 3990],
    weight: [90, 130],
    axes: [A_VOLUME],
    attributes: { skin_type: ["toutes peaux", "peaux sèches", "peaux mixtes", "peaux sensibles"], organic: [true, false], vegan: [true, false], fragrance_free: [true, false] },
    pitches: ["Une texture fondante qui hydrate en profondeur sans laisser de film gras.", "Formulée avec 97 % d'ingrédients d'origine naturelle, elle apaise et protège la peau.", "Pénètre rapidement et laisse la peau souple et confortable toute la journée."],
    maxStock: 80,
  },
  {
    code: "SER",
    category: "Beauté > Soins du visage > Sérums & nettoyants",
    brands: ["Aube Cosmétiques", "Pure Sève", "Éclat Nature"],
    titles: [
      { t: "Sérum éclat à la vitamine C", axes: [single("volume", "30 ml")], price: [2990, 4490], weight: [90, 110] },
      { t: "Sérum à l'acide hyaluronique", axes: [single("volume", "30 ml")], price: [2490, 3990], weight: [90, 110] },
      "Huile démaquillante",
      "Eau micellaire",
      "Gel nettoyant purifiant",
      { t: "Masque à l'argile verte", axes: [single("volume", "75 ml")], price: [1490, 2290], weight: [120, 150] },
    ],
    price: [1290, 2490],
    weight: [200, 260],
    axes: [A_VOLUME_LARGE],
    attributes: { skin_type: ["toutes peaux", "peaux grasses", "peaux mixtes", "peaux sensibles"], organic: [true, false], vegan: [true, false] },
    pitches: ["Une formule concentrée pour une peau nette et lumineuse.", "Respecte le film hydrolipidique, même sur les peaux les plus sensibles."],
    maxStock: 80,
  },
  {
    code: "COR",
    category: "Beauté > Soins du corps",
    brands: ["Jardin de Grasse", "Savonnerie Marius", "Pure Sève"],
    titles: [
      { t: "Lait corporel à l'amande" },
      { t: "Huile sèche scintillante", axes: [single("volume", "100 ml")], price: [2490, 3490], weight: [180, 220] },
      { t: "Gommage au sucre" },
      { t: "Savon de Marseille", axes: [axis("weight", [opt("100 g", 0.6, 0.35), opt("300 g", 1, 1)], 1, 2)], price: [490, 890], weight: [300, 320], attrs: { organic: false } },
      { t: "Crème mains au karité", axes: [axis("volume", [opt("30 ml", 0.6, 0.35), opt("75 ml", 1, 1)], 1, 2)], price: [890, 1490], weight: [90, 110] },
      { t: "Baume à lèvres", axes: [single("volume", "15 ml")], price: [490, 890], weight: [25, 35] },
    ],
    price: [1290, 2490],
    weight: [220, 280],
    axes: [A_VOLUME_LARGE],
    attributes: { skin_type: ["toutes peaux", "peaux sèches", "peaux sensibles"], organic: [true, false], made_in_france: [true, false] },
    pitches: ["Une gourmandise pour la peau, qui la nourrit et la parfume délicatement.", "Des actifs végétaux pour une peau douce et confortable tout au long de la journée."],
    maxStock: 90,
  },
  {
    code: "PAR",
    category: "Beauté > Parfums",
    brands: ["Jardin de Grasse", "Maison Néroli", "Aube Cosmétiques"],
    titles: [
      ...named("Eau de parfum", ["Néroli", "Bois d'ambre", "Rose poudrée"]),
      ...named("Eau de toilette", ["Vétiver", "Marine"]),
      "Eau de cologne Agrumes",
    ],
    price: [4990, 11900],
    weight: [220, 300],
    axes: [A_PERFUME],
    attributes: { olfactory_family: ["hespéridée", "boisée", "florale", "ambrée", "aromatique"], gender: ["mixte", "femme", "homme"], concentration_percent: [8, 12, 15, 20] },
    pitches: ["Un sillage lumineux composé à Grasse, qui évolue tout au long de la journée.", "Une fragrance signature aux notes naturelles, dans un flacon rechargeable."],
  },
  {
    code: "CHE",
    category: "Beauté > Cheveux",
    brands: ["Pure Sève", "Éclat Nature"],
    titles: [
      "Shampooing doux",
      { t: "Shampooing solide", axes: [single("weight", "85 g")], price: [990, 1290], weight: [90, 100] },
      "Après-shampooing nourrissant",
      "Masque capillaire",
      { t: "Huile capillaire", axes: [single("volume", "50 ml")], price: [1990, 2990], weight: [110, 130] },
      { t: "Brosse à cheveux en bambou", axes: [single("colour", "naturel")], price: [1490, 2490], weight: [70, 110] },
    ],
    price: [990, 2290],
    weight: [220, 280],
    axes: [A_VOLUME_LARGE],
    attributes: { hair_type: ["tous types de cheveux", "cheveux secs", "cheveux bouclés", "cheveux fins"], sulfate_free: [true, false], vegan: [true, false] },
    pitches: ["Nettoie en douceur et redonne brillance et souplesse aux cheveux.", "Une formule aux huiles végétales qui démêle sans alourdir."],
    maxStock: 80,
  },
  {
    code: "MAQ",
    category: "Beauté > Maquillage",
    brands: ["Aube Cosmétiques", "Teint de Pêche"],
    titles: [
      { t: "Rouge à lèvres mat", axes: [axis("shade", ["rouge carmin", "rose nude", "corail", "prune", "bois de rose", "rouge cerise"], 2, 5)] },
      { t: "Mascara volume", axes: [axis("shade", ["noir intense", "brun"], 1, 2)] },
      { t: "Fond de teint fluide", axes: [axis("shade", ["porcelaine", "ivoire", "beige clair", "beige doré", "caramel", "noisette"], 3, 6, true)], price: [2490, 3990], weight: [60, 80] },
      { t: "Vernis à ongles", axes: [axis("shade", ["rouge carmin", "rose poudré", "bleu nuit", "vert sauge", "transparent", "bordeaux"], 2, 6)], price: [690, 1190] },
      { t: "Palette de fards à paupières", axes: [axis("shade", ["nude", "smoky", "terracotta"], 1, 3)], price: [2490, 3990], weight: [90, 120] },
    ],
    price: [1290, 2490],
    weight: [15, 40],
    axes: [axis("shade", ["universel"], 1, 1)],
    attributes: { finish: ["mat", "satiné", "naturel"], vegan: [true, false], cruelty_free: [true] },
    pitches: ["Une tenue longue durée et une texture confortable qui ne dessèche pas.", "Des pigments intenses dans une formule enrichie en soins."],
    maxStock: 70,
  },
  {
    code: "HOM",
    category: "Beauté > Homme",
    brands: ["Barbier Gaston", "Savonnerie Marius"],
    titles: [
      { t: "Crème à raser", axes: [single("volume", "150 ml")] },
      { t: "Huile à barbe", axes: [single("volume", "30 ml")], weight: [80, 100] },
      { t: "Baume après-rasage", axes: [single("volume", "100 ml")] },
      { t: "Rasoir de sûreté", axes: [axis("colour", ["chrome", "noir mat", "doré"], 1, 2)], price: [2990, 4990], weight: [80, 120], attrs: { material: "laiton chromé" } },
    ],
    price: [1290, 2490],
    weight: [150, 220],
    axes: [single("volume", "100 ml")],
    attributes: { skin_type: ["toutes peaux", "peaux sensibles"], material: ["formule végétale"], made_in_france: [true, false] },
    pitches: ["Le rituel du barbier à la maison, pour un rasage précis et sans irritation.", "Des ingrédients simples et un parfum boisé discret."],
  },
  // ------------------------------------------------------------- High-Tech
  {
    code: "AUD",
    category: "High-Tech > Audio > Écouteurs & casques",
    brands: ["Sonora", "Voltéo", "Onde Claire"],
    titles: [
      { t: "Écouteurs sans fil", pinned: true, price: [7990, 8990] },
      { t: "Écouteurs sans fil Pro", price: [14900, 19900], attrs: { noise_cancelling: true } },
      { t: "Écouteurs sans fil Sport", price: [8990, 11900], attrs: { waterproof_rating: "IPX7" } },
      { t: "Écouteurs intra-auriculaires filaires", price: [1990, 3990], weight: [15, 25], attrs: { battery_life_hours: 0, bluetooth_version: "aucun" } },
      { t: "Casque audio à réduction de bruit", price: [19900, 34900], weight: [240, 300], attrs: { noise_cancelling: true } },
      { t: "Casque audio sans fil Studio", price: [12900, 19900], weight: [250, 320] },
      { t: "Casque gaming Arena", price: [6990, 12900], weight: [280, 360] },
    ],
    price: [7990, 14900],
    weight: [45, 70],
    axes: [colour(C_TECH, 1, 3)],
    attributes: { bluetooth_version: ["5.2", "5.3", "5.4"], battery_life_hours: [6, 8, 24, 30, 40], noise_cancelling: [true, false], warranty_years: [2] },
    pitches: ["Un son riche et détaillé, avec des basses profondes et une connexion stable.", "Jusqu'à plusieurs jours d'autonomie avec le boîtier de charge, et une prise en main intuitive.", "Confortables pendant des heures, avec des commandes tactiles simples."],
  },
  {
    code: "ENC",
    category: "High-Tech > Audio > Enceintes",
    brands: ["Sonora", "Onde Claire"],
    titles: [
      { t: "Enceinte Bluetooth portable Galet", price: [4990, 7990], weight: [350, 550] },
      { t: "Enceinte Bluetooth étanche Vague", price: [6990, 9990], weight: [500, 700], attrs: { waterproof_rating: "IP67" } },
      { t: "Barre de son Cinéma", price: [19900, 39900], weight: [2500, 3800] },
      { t: "Enceinte connectée Maison", price: [9990, 17900], weight: [900, 1400] },
      { t: "Platine vinyle Rétro", axes: [colour(["noyer", "noir", "blanc"], 1, 2)], price: [14900, 29900], weight: [4000, 6000], attrs: { battery_life_hours: 0 } },
    ],
    price: [4990, 19900],
    weight: [500, 2000],
    axes: [colour(C_TECH, 1, 3)],
    attributes: { bluetooth_version: ["5.0", "5.3"], battery_life_hours: [10, 12, 20], waterproof_rating: ["IPX4", "aucun"], warranty_years: [2] },
    pitches: ["Un son à 360° qui remplit la pièce sans saturer.", "Se couple en quelques secondes à votre téléphone, votre tablette ou votre ordinateur."],
  },
  {
    code: "PHN",
    category: "High-Tech > Téléphonie > Smartphones",
    brands: ["Pixelia", "Voltéo"],
    titles: ["Smartphone Orbit 6", "Smartphone Orbit 6 Pro", "Smartphone Lune compact", "Smartphone Atlas 5G"],
    price: [34900, 99900],
    weight: [165, 225],
    axes: [A_PHONE, colour(C_TECH, 1, 2)],
    attributes: { screen_inches: [6.1, 6.4, 6.7], network: ["5G"], dual_sim: [true, false], warranty_years: [2] },
    pitches: ["Un écran OLED lumineux, un triple capteur photo et une autonomie qui tient la journée.", "Un smartphone rapide et durable, avec cinq ans de mises à jour garanties."],
    maxStock: 25,
  },
  {
    code: "TAC",
    category: "High-Tech > Téléphonie > Accessoires",
    brands: ["Voltéo", "Nodal", "Pixelia"],
    titles: [
      { t: "Coque en silicone", price: [1490, 2990], weight: [25, 40] },
      { t: "Chargeur rapide USB-C 30 W", axes: [colour(["blanc", "noir"], 1, 2)], price: [1990, 2990], weight: [50, 80] },
      { t: "Batterie externe 10 000 mAh", axes: [colour(["blanc", "noir", "bleu"], 1, 2)], price: [2490, 3990], weight: [180, 230] },
      { t: "Câble USB-C tressé", axes: [axis("size", [opt("1 m", 0.8, 0.7), opt("2 m", 1, 1)], 1, 2)], price: [990, 1990], weight: [40, 60] },
      { t: "Chargeur sans fil à induction", price: [2490, 4990], weight: [90, 150] },
    ],
    price: [1490, 3990],
    weight: [40, 150],
    axes: [colour(C_TECH, 1, 3)],
    attributes: { connector: ["USB-C"], compatibility: ["universel", "Android et iOS"], warranty_years: [1, 2] },
    pitches: ["Un accessoire compact et fiable, compatible avec la plupart des appareils.", "Certifié pour une charge sûre et rapide au quotidien."],
    maxStock: 120,
  },
  {
    code: "INF",
    category: "High-Tech > Informatique > Périphériques",
    brands: ["Nodal", "Voltéo", "Pixelia"],
    titles: [
      { t: "Clavier mécanique Typo", axes: [axis("layout", ["AZERTY", "QWERTY"], 1, 2), colour(["noir", "blanc", "gris"], 1, 2)], price: [8990, 14900], weight: [800, 1100] },
      { t: "Souris sans fil ergonomique", price: [2990, 6990], weight: [90, 130] },
      { t: "Écran 27 pouces QHD", axes: [single("colour", "noir")], price: [27900, 39900], weight: [5500, 6500] },
      { t: "Webcam Full HD", axes: [single("colour", "noir")], price: [4990, 7990], weight: [120, 180] },
      { t: "Hub USB-C 7-en-1", axes: [colour(["gris sidéral", "argent"], 1, 2)], price: [3990, 5990], weight: [70, 110] },
    ],
    price: [2990, 6990],
    weight: [100, 500],
    axes: [colour(C_TECH, 1, 3)],
    attributes: { connectivity: ["USB-C", "Bluetooth", "USB-C et Bluetooth"], warranty_years: [2, 3], mac_compatible: [true] },
    pitches: ["Pensé pour le télétravail comme pour les longues sessions de jeu.", "Installation immédiate, sans pilote, sur Windows, macOS et Linux."],
    maxStock: 50,
  },
  {
    code: "STO",
    category: "High-Tech > Informatique > Stockage",
    brands: ["Nodal", "Voltéo"],
    titles: [
      { t: "Disque SSD externe", price: [5990, 6990], weight: [50, 70] },
      { t: "Clé USB", axes: [axis("capacity", [opt("32 Go", 0.8, 1), opt("64 Go", 1, 1), opt("128 Go", 1.5, 1), opt("256 Go", 2.4, 1)], 1, 4, true)], price: [990, 1290], weight: [10, 15] },
      { t: "Disque dur externe", axes: [axis("capacity", [opt("1 To", 1, 1), opt("2 To", 1.3, 1), opt("4 To", 1.9, 1.05)], 1, 3, true)], price: [5990, 6990], weight: [180, 230] },
      { t: "Carte mémoire microSD", price: [2490, 2990], weight: [2, 3] },
    ],
    price: [2990, 8990],
    weight: [20, 200],
    axes: [A_STORAGE],
    attributes: { interface: ["USB 3.2", "USB-C", "UHS-I"], read_speed_mbps: [100, 160, 450, 1050], warranty_years: [3, 5] },
    pitches: ["Des transferts rapides et fiables pour vos photos, vidéos et sauvegardes.", "Compact et résistant aux chocs, il vous suit partout."],
    maxStock: 100,
  },
  {
    code: "ORD",
    category: "High-Tech > Informatique > Ordinateurs & tablettes",
    brands: ["Pixelia", "Nodal"],
    titles: [
      { t: "Ordinateur portable Ultra 14", attrs: { screen_inches: 14 } },
      { t: "Ordinateur portable Créa 16", price: [149900, 189900], weight: [1900, 2200], attrs: { screen_inches: 16 } },
      { t: "Tablette Ardoise 11", axes: [axis("capacity", [opt("64 Go", 1, 1), opt("128 Go", 1.15, 1), opt("256 Go", 1.35, 1)], 1, 3, true), colour(C_TECH, 1, 2)], price: [34900, 49900], weight: [450, 520], attrs: { screen_inches: 11 } },
      { t: "Liseuse Papyrus", axes: [axis("capacity", [opt("16 Go", 1, 1), opt("32 Go", 1.15, 1)], 1, 2), colour(["noir", "blanc"], 1, 2)], price: [12900, 17900], weight: [180, 220], attrs: { screen_inches: 7 } },
    ],
    price: [89900, 129900],
    weight: [1200, 1450],
    axes: [A_LAPTOP, colour(["gris sidéral", "argent", "bleu nuit"], 1, 2)],
    attributes: { screen_inches: [13], ram_gb: [8, 16, 32], keyboard_layout: ["AZERTY"], warranty_years: [2] },
    pitches: ["Léger, silencieux et endurant, pour travailler où vous voulez.", "Un écran haute définition aux couleurs fidèles et une autonomie d'une journée entière."],
    maxStock: 15,
  },
  {
    code: "OBJ",
    category: "High-Tech > Objets connectés",
    brands: ["Voltéo", "Nodal", "Maison Connectée"],
    titles: [
      { t: "Montre connectée Pulse", axes: [axis("size", [opt("41 mm", 1, 0.9), opt("45 mm", 1.1, 1)], 1, 2), colour(C_TECH, 1, 2)], price: [14900, 24900], weight: [40, 55] },
      { t: "Bracelet d'activité Fit", price: [3990, 6990], weight: [20, 30] },
      { t: "Ampoule connectée", axes: [axis("socket", ["E27", "E14", "GU10"], 1, 3)], price: [1490, 2490], weight: [60, 90] },
      { t: "Prise connectée", axes: [single("colour", "blanc")], price: [1490, 2490], weight: [80, 110] },
      { t: "Thermostat connecté", axes: [colour(["blanc", "noir"], 1, 2)], price: [12900, 19900], weight: [200, 300] },
      { t: "Caméra de surveillance Wi-Fi", axes: [colour(["blanc", "noir"], 1, 2)], price: [4990, 8990], weight: [150, 250] },
    ],
    price: [4990, 14900],
    weight: [50, 300],
    axes: [colour(C_TECH, 1, 2)],
    attributes: { connectivity: ["Wi-Fi", "Bluetooth", "Wi-Fi et Bluetooth", "Zigbee"], app_compatible: [true], warranty_years: [2] },
    pitches: ["Se pilote depuis l'application ou à la voix, et s'intègre à la maison connectée.", "Une installation en quelques minutes et des mises à jour automatiques."],
    maxStock: 60,
  },
  {
    code: "PHO",
    category: "High-Tech > Photo & vidéo",
    brands: ["Pixelia", "Optique Lumière"],
    titles: [
      { t: "Appareil photo compact", price: [39900, 69900], weight: [250, 350] },
      { t: "Appareil photo hybride", price: [89900, 149900], weight: [450, 650] },
      { t: "Objectif 50 mm f/1.8", axes: [axis("mount", ["monture E", "monture Z", "monture RF"], 1, 3)], price: [19900, 29900], weight: [170, 220] },
      { t: "Trépied de voyage", price: [6990, 14900], weight: [1100, 1500] },
      { t: "Caméra d'action 4K", price: [19900, 34900], weight: [120, 160] },
      { t: "Sac photo", axes: [colour(["noir", "kaki", "gris anthracite"], 1, 2)], price: [5990, 11900], weight: [800, 1200] },
    ],
    price: [19900, 49900],
    weight: [200, 600],
    axes: [colour(["noir", "argent"], 1, 2)],
    attributes: { sensor_mp: [20, 24, 26, 33], image_stabilisation: [true, false], warranty_years: [2] },
    pitches: ["Des images nettes et lumineuses, même en basse lumière.", "Compact et robuste, il accompagne tous vos voyages."],
    maxStock: 20,
  },
  // --------------------------------------------------------------- Enfants
  {
    code: "JCO",
    category: "Enfants > Jouets > Jeux de construction",
    brands: ["Les Ateliers Bambou", "Petit Colibri"],
    titles: ["Jeu de construction en bois", "Blocs magnétiques", "Circuit de billes", "Kit de robotique junior", "Train en bois avec rails"],
    price: [2490, 8990],
    weight: [600, 2500],
    axes: [axis("edition", [opt("50 pièces", 0.7, 0.6), opt("100 pièces", 1, 1), opt("150 pièces", 1.35, 1.45)], 1, 3, true)],
    attributes: { min_age_years: [3, 4, 6, 8], material: ["bois de hêtre", "plastique recyclé", "bois et aimants"], ce_certified: [true] },
    pitches: ["Des heures de jeu pour construire, imaginer et recommencer.", "Un jouet éducatif qui développe la motricité fine et la logique."],
  },
  {
    code: "PEL",
    category: "Enfants > Jouets > Peluches & poupées",
    brands: ["Petit Colibri", "Loupiot"],
    titles: ["Peluche lapin Célestin", "Peluche ours Balthazar", "Poupée de chiffon Rose", "Doudou renard"],
    price: [1490, 3990],
    weight: [100, 350],
    axes: [axis("size", [opt("petit modèle", 0.7, 0.6), opt("grand modèle", 1, 1)], 1, 2)],
    attributes: { min_age_years: [0, 1, 3], material: ["coton bio", "velours", "peluche recyclée"], machine_washable: [true, false] },
    pitches: ["Tout doux, il accompagne les câlins et les nuits des tout-petits.", "Cousu avec soin, sans petites pièces, pour jouer en toute sécurité."],
  },
  {
    code: "JSO",
    category: "Enfants > Jouets > Jeux de société",
    brands: ["Éditions Tournicoti", "Loupiot"],
    titles: ["Jeu de société Les Petits Pirates", "Jeu de mémoire Animaux", "Puzzle 500 pièces Paris", "Jeu coopératif Forêt enchantée"],
    price: [1290, 3990],
    weight: [300, 1200],
    axes: [single("language", "français")],
    attributes: { min_age_years: [4, 5, 6, 8], players: ["2 à 4", "2 à 6", "1 à 4"], duration_minutes: [15, 20, 30, 45] },
    pitches: ["Des parties rapides qui réunissent petits et grands autour de la table.", "Des règles simples et des illustrations pleines d'humour."],
  },
  {
    code: "BEB",
    category: "Enfants > Vêtements > Bébé",
    brands: ["Petit Colibri", "Loupiot", "P'tit Mousse"],
    titles: ["Body en coton bio", "Pyjama velours Étoiles", "Gigoteuse légère", "Bonnet de naissance", "Combinaison pilote"],
    price: [1490, 4990],
    weight: [60, 300],
    axes: [A_BABY_AGE, colour(C_KIDS, 1, 1)],
    attributes: { material: ["coton bio", "velours de coton", "jersey"], oeko_tex: [true], gender: ["mixte"] },
    pitches: ["Une matière douce qui respecte la peau délicate de bébé.", "Pressions faciles et coupe pensée pour les changes rapides."],
  },
  {
    code: "EVE",
    category: "Enfants > Vêtements > Enfant",
    brands: ["P'tit Mousse", "Loupiot"],
    titles: ["Sweat à capuche Comète", "Jean enfant Tom", "Robe fleurie Capucine", "Ciré de pluie", "Salopette en velours"],
    price: [1990, 5990],
    weight: [150, 450],
    axes: [A_KID_AGE, colour(C_KIDS, 1, 1)],
    attributes: { material: ["coton bio", "molleton", "denim", "toile enduite"], gender: ["mixte", "fille", "garçon"] },
    pitches: ["Résistant aux récréations et facile à enfiler tout seul.", "Des couleurs gaies et des coutures renforcées pour durer."],
  },
  {
    code: "CHE2",
    category: "Enfants > Chaussures",
    brands: ["Petits Pas", "P'tit Mousse"],
    titles: [
      { t: "Chaussures premiers pas", axes: [A_SHOE_BABY, colour(C_KIDS, 1, 1)], weight: [120, 200] },
      { t: "Chaussures en cuir souple", axes: [A_SHOE_BABY, colour(C_LEATHER, 1, 1)], weight: [140, 220] },
      "Baskets enfant à scratch",
      { t: "Bottes de pluie", price: [1990, 3490], attrs: { waterproof: true } },
      { t: "Chaussons en cuir", axes: [A_SHOE_BABY, colour(C_KIDS, 1, 1)], price: [1990, 2990], weight: [80, 120] },
      "Sandales enfant",
    ],
    price: [3490, 6990],
    weight: [250, 450],
    axes: [A_SHOE_KID, colour(C_KIDS, 1, 1)],
    attributes: { upper: ["cuir", "toile", "caoutchouc naturel"], closure: ["scratch", "lacets", "élastique"], waterproof: [false] },
    pitches: ["Souples et légères, elles laissent le pied bouger naturellement.", "Semelle antidérapante et fermeture facile pour gagner en autonomie."],
  },
  {
    code: "PUE",
    category: "Enfants > Puériculture",
    brands: ["Petit Colibri", "Nid Douillet"],
    titles: [
      { t: "Chaise haute évolutive", price: [14900, 24900], weight: [6500, 8000] },
      { t: "Poussette compacte", price: [29900, 44900], weight: [6800, 8200] },
      { t: "Tapis d'éveil", price: [4990, 7990], weight: [1200, 1800] },
      { t: "Biberon en verre", axes: [axis("volume", [opt("150 ml", 0.85, 0.7), opt("250 ml", 1, 1)], 1, 2)], price: [1290, 1690], weight: [180, 240] },
      { t: "Veilleuse Lune", price: [2490, 3990], weight: [200, 300] },
      { t: "Sac à langer", price: [4990, 8990], weight: [600, 900] },
    ],
    price: [2990, 9990],
    weight: [500, 3000],
    axes: [colour(C_KIDS, 1, 3)],
    attributes: { min_age_months: [0, 6], en_certified: [true], material: ["hêtre", "aluminium", "coton bio", "verre borosilicate", "plastique sans BPA"] },
    pitches: ["Pensé par des parents pour simplifier le quotidien avec bébé.", "Testé selon les normes européennes, facile à nettoyer et à ranger."],
    maxStock: 25,
  },
  // --------------------------------------------------------- Épicerie fine
  {
    code: "TEA",
    category: "Épicerie fine > Thés & infusions",
    brands: ["Comptoir des Thés", "Maison Vernier"],
    titles: [
      "Thé vert Sencha",
      "Thé noir Earl Grey",
      "Thé Darjeeling premier flush",
      "Infusion verveine menthe",
      "Rooibos vanille",
      "Thé blanc Pai Mu Tan",
      { t: "Thé Matcha de cérémonie", axes: [axis("weight", [opt("30 g", 1, 1), opt("100 g", 2.9, 3.1)], 1, 2)], price: [2490, 3290], weight: [60, 80] },
    ],
    price: [890, 1690],
    weight: [280, 300],
    axes: [axis("weight", [opt("100 g", 0.5, 0.42), opt("250 g", 1, 1), opt("500 g", 1.8, 1.95)], 1, 3, true)],
    attributes: { origin: ["Japon", "Chine", "Inde", "Sri Lanka", "Afrique du Sud", "France"], organic: [true, false], caffeine: [true, false] },
    pitches: ["Une feuille entière sélectionnée avec soin, à infuser trois à quatre minutes.", "Des notes délicates et une tasse ronde, à savourer à toute heure."],
    maxStock: 60,
  },
  {
    code: "CAF",
    category: "Épicerie fine > Cafés",
    brands: ["Torréfaction Saint-Roch", "Maison Vernier"],
    titles: ["Café en grains Éthiopie Yirgacheffe", "Café en grains Colombie Huila", "Café moulu Espresso", "Café en grains Brésil", "Café décaféiné Pérou"],
    price: [990, 1690],
    weight: [260, 280],
    axes: [A_COFFEE],
    attributes: { origin: ["Éthiopie", "Colombie", "Brésil", "Pérou", "Guatemala"], roast: ["claire", "moyenne", "foncée"], organic: [true, false], intensity: [5, 6, 7, 8, 9] },
    pitches: ["Torréfié chaque semaine dans notre atelier pour une fraîcheur optimale.", "Des notes de fruits rouges et de chocolat, idéal en espresso comme en filtre."],
    maxStock: 60,
  },
  {
    code: "CHO",
    category: "Épicerie fine > Chocolats & confiseries",
    brands: ["Chocolaterie Armand", "Maison Vernier", "Confiserie du Vieux Port"],
    titles: [
      { t: "Tablette de chocolat noir 70 %", axes: [single("weight", "100 g")], price: [490, 690], weight: [100, 110] },
      { t: "Tablette de chocolat au lait", axes: [single("weight", "100 g")], price: [450, 650], weight: [100, 110] },
      "Pralinés assortis",
      "Caramels au beurre salé",
      "Calissons d'Aix",
      { t: "Pâte à tartiner noisette", axes: [A_JAR], price: [690, 990] },
      "Nougat de Montélimar",
    ],
    price: [1290, 2490],
    weight: [250, 280],
    axes: [axis("weight", [opt("150 g", 0.65, 0.6), opt("250 g", 1, 1), opt("500 g", 1.85, 1.9)], 1, 3, true)],
    attributes: { origin: ["France"], organic: [true, false], gluten_free: [true, false], artisanal: [true] },
    pitches: ["Une gourmandise artisanale préparée en petites séries.", "Une recette traditionnelle aux ingrédients soigneusement sélectionnés."],
    maxStock: 50,
  },
  {
    code: "HUI",
    category: "Épicerie fine > Huiles & condiments",
    brands: ["Moulin Saint-Roch", "Maison Vernier", "Comptoir des Épices"],
    titles: [
      { t: "Huile d'olive vierge extra", axes: [A_BOTTLE], price: [1490, 1990], weight: [900, 1000] },
      { t: "Vinaigre balsamique de Modène", axes: [A_BOTTLE], price: [990, 1490], weight: [850, 950] },
      { t: "Moutarde à l'ancienne", axes: [A_JAR], price: [390, 590] },
      { t: "Fleur de sel de Guérande", axes: [A_JAR], price: [490, 790] },
      { t: "Poivre de Kampot", axes: [axis("weight", [opt("50 g", 1, 1), opt("100 g", 1.8, 1.9)], 1, 2)], price: [890, 1290], weight: [60, 80] },
      { t: "Huile de noix", axes: [A_BOTTLE], price: [1290, 1690], weight: [850, 950] },
      { t: "Piment d'Espelette AOP", axes: [axis("weight", [opt("40 g", 1, 1), opt("100 g", 2.2, 2.4)], 1, 2)], price: [790, 990], weight: [50, 60] },
    ],
    price: [590, 1490],
    weight: [330, 420],
    axes: [A_JAR],
    attributes: { origin: ["France", "Italie", "Espagne", "Cambodge"], organic: [true, false], protected_designation: [true, false] },
    pitches: ["Un produit de terroir sélectionné directement auprès du producteur.", "Le petit plus qui relève une vinaigrette, une viande ou des légumes rôtis."],
    maxStock: 70,
  },
  {
    code: "MIE",
    category: "Épicerie fine > Confitures & miels",
    brands: ["Ruchers de l'Aubrac", "Confiturerie Jeanne", "Maison Vernier"],
    titles: [
      ...named("Miel", ["de lavande", "de châtaignier", "d'acacia", "toutes fleurs crémeux"]),
      ...named("Confiture", ["de fraises", "d'abricots"]),
      "Marmelade d'orange amère",
      "Crème de marrons",
    ],
    price: [590, 1290],
    weight: [380, 420],
    axes: [A_JAR],
    attributes: { origin: ["France"], organic: [true, false], fruit_percent: [55, 60, 65, 70] },
    pitches: ["Récolté et mis en pot par de petits producteurs français.", "Cuit en chaudron de cuivre, avec beaucoup de fruits et peu de sucre."],
    maxStock: 60,
  },
  {
    code: "BIS",
    category: "Épicerie fine > Biscuits & gâteaux",
    brands: ["Biscuiterie de Pont-Aven", "Maison Vernier"],
    titles: ["Sablés bretons", "Galettes pur beurre", "Madeleines de Commercy", "Macarons assortis", "Palets au chocolat"],
    price: [490, 1290],
    weight: [200, 300],
    axes: [axis("weight", [opt("125 g", 0.6, 0.55), opt("250 g", 1, 1), opt("500 g", 1.8, 1.9)], 1, 2, true)],
    attributes: { origin: ["France"], organic: [true, false], butter: ["beurre AOP", "beurre demi-sel", "beurre doux"] },
    pitches: ["Des biscuits croustillants et fondants, comme à la sortie du four.", "Une recette pur beurre transmise de génération en génération."],
    maxStock: 80,
  },
  {
    code: "APE",
    category: "Épicerie fine > Apéritif",
    brands: ["Maison Vernier", "Conserverie de Douarnenez", "Comptoir des Épices"],
    titles: ["Tapenade noire", "Rillettes de thon", "Olives de Nyons AOP", "Crackers au romarin"],
    price: [490, 990],
    weight: [300, 380],
    axes: [A_JAR],
    attributes: { origin: ["France"], organic: [true, false], vegetarian: [true, false] },
    pitches: ["Le compagnon idéal de l'apéritif entre amis.", "Préparé en petites séries avec des produits de la région."],
    maxStock: 70,
  },
];

const CLOSINGS: Readonly<Record<string, readonly string[]>> = {
  Mode: ["Confectionné en Europe dans des ateliers partenaires.", "Livraison offerte et retours gratuits sous 30 jours.", "Pensé pour durer plusieurs saisons.", "Coloris et finitions contrôlés un à un en atelier."],
  Sport: ["Testé par notre équipe sur le terrain.", "Garantie deux ans, pièces détachées disponibles.", "Idéal pour débuter comme pour progresser.", "Conçu pour un usage intensif."],
  Maison: ["Fabriqué par des artisans européens.", "À entretenir simplement, pour des années d'utilisation.", "Emballage sans plastique.", "Un cadeau qui fait toujours plaisir."],
  Beauté: ["Fabriqué en France, non testé sur les animaux.", "Emballage recyclable.", "Convient à un usage quotidien.", "Formule sans parabènes ni silicones."],
  "High-Tech": ["Garantie constructeur incluse.", "Livraison et retours gratuits sous 30 jours.", "Mises à jour logicielles gratuites.", "Service après-vente basé en France."],
  Enfants: ["Conforme aux normes européennes de sécurité.", "Fabriqué avec des matériaux durables.", "Une idée cadeau qui ravira les enfants.", "Testé et approuvé par des parents."],
  "Épicerie fine": ["À conserver dans un endroit sec, à l'abri de la lumière.", "Produit en France par des artisans passionnés.", "Parfait pour composer un panier gourmand.", "Sans conservateurs ni arômes artificiels."],
};

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

interface Combination {
  options: Record<string, string>;
  labels: string[];
  priceFactor: number;
  weightFactor: number;
}

function chooseAxisValues(rng: Rng, axes: readonly Axis[]): OptionChoice[][] {
  const chosen: OptionChoice[][] = [];
  let remaining = 6;
  axes.forEach((ax, index) => {
    const laterMin = axes.slice(index + 1).reduce((acc, a) => acc * a.min, 1);
    const upper = Math.max(ax.min, Math.min(ax.max, ax.choices.length, Math.floor(remaining / laterMin)));
    const count = randInt(rng, ax.min, upper);
    let values: OptionChoice[];
    if (ax.contiguous) {
      const start = randInt(rng, 0, ax.choices.length - count);
      values = ax.choices.slice(start, start + count);
    } else {
      values = sample(rng, ax.choices, count);
    }
    chosen.push(values);
    remaining = Math.floor(remaining / count);
  });
  return chosen;
}

function combine(axes: readonly Axis[], chosen: readonly OptionChoice[][]): Combination[] {
  let combos: Combination[] = [{ options: {}, labels: [], priceFactor: 1, weightFactor: 1 }];
  axes.forEach((ax, index) => {
    const values = chosen[index] ?? [];
    const next: Combination[] = [];
    for (const combo of combos) {
      for (const choice of values) {
        next.push({
          options: { ...combo.options, [ax.key]: choice.value },
          labels: [...combo.labels, choice.label],
          priceFactor: combo.priceFactor * choice.priceFactor,
          weightFactor: combo.weightFactor * choice.weightFactor,
        });
      }
    }
    combos = next;
  });
  return combos;
}

export function generateDemoCatalog(seed = 2026): DemoProduct[] {
  const rng = mulberry32(seed);
  const products: DemoProduct[] = [];
  const slugs = new Set<string>();
  const skuPrefixes = new Set<string>();
  const skus = new Set<string>();

  for (const type of TYPES) {
    const top = type.category.split(" > ")[0] ?? type.category;
    const closings = CLOSINGS[top];
    if (closings === undefined) throw new Error(`No closing sentences for ${top}`);

    for (const entry of type.titles) {
      const spec: TitleSpec = typeof entry === "string" ? { t: entry } : entry;
      const title = spec.t;
      const brand = spec.brand ?? pick(rng, type.brands);
      const pinned = spec.pinned === true;

      // Slug (unique)
      let slug = slugify(title);
      if (slugs.has(slug)) slug = `${slug}-${slugify(brand)}`;
      for (let n = 2; slugs.has(slug); n++) slug = `${slugify(title)}-${n}`;
      slugs.add(slug);

      // SKU prefix (unique per product): type code + most distinctive slug word
      const words = slug.split("-");
      const last = words[words.length - 1] ?? "X";
      let prefix = `${type.code}-${skuPart(/^[0-9]+$/.test(last) ? words.map((w) => w.charAt(0)).join("") : last).slice(0, 10)}`;
      if (skuPrefixes.has(prefix)) prefix = `${type.code}-${skuPart(words.map((w) => w.slice(0, 3)).join("")).slice(0, 12)}`;
      for (let n = 2; skuPrefixes.has(prefix); n++) prefix = `${type.code}-${skuPart(last).slice(0, 8)}${n}`;
      skuPrefixes.add(prefix);

      // Description
      const description = `${pick(rng, type.pitches)} ${pick(rng, closings)}`;

      // Attributes: type pools, then title-specific fixed values
      const attributes: Record<string, DemoAttributeValue> = {};
      for (const [key, values] of Object.entries(type.attributes)) {
        attributes[key] = pick(rng, values);
      }
      for (const [key, value] of Object.entries(spec.attrs ?? {})) {
        attributes[key] = value;
      }

      // Commercial settings
      const [pMin, pMax] = spec.price ?? type.price;
      const [wMin, wMax] = spec.weight ?? type.weight;
      const basePrice = pMin + rng() * (pMax - pMin);
      const baseWeight = wMin + rng() * (wMax - wMin);
      const ending: "99" | "90" = rng() < 0.75 ? "99" : "90";
      const onSale = !pinned && rng() < 0.18;
      const saleRatio = 1.15 + rng() * 0.3;
      const hasUsd = rng() < 0.3;
      const usdRate = 1.06 + rng() * 0.06;
      const inLyon = rng() < 0.65;
      const draft = !pinned && rng() < 0.05;
      const maxStock = type.maxStock ?? 40;

      const categories = [type.category];
      const extra = rng();
      if (onSale) categories.push("Promotions");
      else if (extra < 0.14) categories.push("Nouveautés");
      else if (extra < 0.22) categories.push("Idées cadeaux");

      // Variants
      const axes = spec.axes ?? type.axes;
      const combos = combine(axes, chooseAxisValues(rng, axes));
      const variants: DemoVariant[] = combos.map((combo) => {
        const sku = [prefix, ...Object.values(combo.options).map(skuPart)].join("-");
        if (skus.has(sku)) throw new Error(`Duplicate SKU ${sku}`);
        skus.add(sku);

        const amount = shopPrice(basePrice * combo.priceFactor, ending);
        const eur: DemoPrice = { currency: "EUR", amount };
        if (onSale) eur.compareAtAmount = Math.max(amount + 100, shopPrice(amount * saleRatio, ending));
        const prices: DemoPrice[] = [eur];
        if (hasUsd) {
          const usdAmount = shopPrice(amount * usdRate, ending);
          const usd: DemoPrice = { currency: "USD", amount: usdAmount };
          if (eur.compareAtAmount !== undefined) {
            usd.compareAtAmount = Math.max(usdAmount + 100, shopPrice(eur.compareAtAmount * usdRate, ending));
          }
          prices.push(usd);
        }

        const stockLevel = (): number => (rng() < 0.12 ? 0 : randInt(rng, 1, maxStock));
        const stock: DemoStock[] = [{ location: "paris-1", onHand: stockLevel() }];
        if (inLyon) stock.push({ location: "lyon-1", onHand: stockLevel() });

        return {
          sku,
          title: combo.labels.join(" / "),
          options: combo.options,
          weightGrams: Math.max(1, Math.round(baseWeight * combo.weightFactor)),
          prices,
          stock,
        };
      });

      products.push({
        slug,
        title,
        description,
        brand,
        status: draft ? "draft" : "published",
        categories,
        attributes,
        variants,
      });
    }
  }

  return products;
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  const catalog = generateDemoCatalog();
  const outFile = fileURLToPath(new URL("../db/seed/demo-catalog.json", import.meta.url));
  mkdirSync(dirname(outFile), { recursive: true });
  const json = `${JSON.stringify(catalog, null, 2)}\n`;
  writeFileSync(outFile, json);
  const variantCount = catalog.reduce((n, p) => n + p.variants.length, 0);
  console.log(`Wrote ${catalog.length} products / ${variantCount} variants (${Buffer.byteLength(json)} bytes) to ${outFile}`);
}
