"""Write petool's built-in tool corpus (ToolBench ``toolenv/tools`` layout) deterministically.

Five fictional providers, each with one non-functional profile (pricing, authentication, SDKs,
licensing, latency...), offer the same ten functionalities in ten categories: 4 providers per
functionality, worded differently, same inputs. A few files are deliberately bad so every stage-01
filter has something to count: deprecated APIs (by word and by flag), an undocumented API, an untyped
parameter, a duplicated tool file, a repeated API name, an alias endpoint; one provider names a
parameter differently so the input-format check of stage 03 has something to split.

    python scripts/make_toolcorpus.py            # rewrites petool_utils/resources/toolcorpus/
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "petool_utils" / "resources" / "toolcorpus"
LABELS = OUT.parent / "toolcorpus_func_labels.json"

PROVIDERS = {
    "Nimbus": ("nimbus.example", "Free tier with no API key required, 60 requests per minute, JSON responses only, "
               "community forum support."),
    "Quillstone": ("quillstone.example", "Enterprise grade: OAuth2 authentication, 99.99% uptime SLA, SOC 2 compliance "
                   "and paid plans with dedicated account managers."),
    "Pocketly": ("pocketly.example", "Mobile-first: native iOS and Android SDKs, compact payloads and offline caching "
                 "for apps on slow networks."),
    "OpenMeridian": ("openmeridian.example", "Open source and self-hostable under the MIT licence, no tracking, "
                     "maintained by a volunteer community."),
    "Brightwave": ("brightwave.example", "Real-time streaming through webhooks and websockets, lowest latency, "
                   "pay-as-you-go billing per call."),
}

P = lambda name, typ, desc, default="": {"name": name, "type": typ, "description": desc, "default": default}  # noqa: E731

# category, tool suffix, API names (one per offering), descriptions (one per offering), required, optional
GROUPS = [
    ("Weather", "Weather", ["Current weather", "Current Weather", "current_weather", "getCurrentWeather"],
     ["Current weather conditions (temperature, wind, humidity) for a city.",
      "Returns the current weather conditions (temperature, wind, humidity) for a city.",
      "Get current weather conditions for a city: temperature, wind and humidity.",
      "Current weather conditions for a city, with temperature, wind and humidity."],
     [P("city", "STRING", "City name", "Berlin")], [P("units", "STRING", "metric or imperial", "metric")]),
    ("Finance", "Markets", ["Stock quote", "Stock Quote", "stock_quote", "getStockQuote"],
     ["Latest price quote for a stock ticker symbol.",
      "Returns the latest price quote of a stock ticker symbol.",
      "Get the latest stock price quote for a ticker symbol.",
      "Latest stock price quote for the given ticker symbol."],
     [P("symbol", "STRING", "Ticker symbol", "AAPL")], [P("exchange", "STRING", "Exchange code", "NASDAQ")]),
    ("Translation", "Translate", ["Translate text", "Translate Text", "translate_text", "getTranslateText"],
     ["Translate a text into a target language.",
      "Translates a text into the target language.",
      "Translate the given text into a target language.",
      "Translation of a text into the requested target language."],
     [P("text", "STRING", "Text to translate", "Good morning"), P("target_lang", "STRING", "Target language code", "fr")],
     [P("source_lang", "STRING", "Source language code (auto-detected if empty)", "")]),
    ("Travel", "Flights", ["Search flights", "Search Flights", "search_flights", "getSearchFlights"],
     ["Search one-way flights between two airports on a date.",
      "Searches one-way flights between two airports for a date.",
      "Search for one-way flights between an origin and a destination airport on a date.",
      "One-way flight search between two airports on a given date."],
     [P("origin", "STRING", "IATA code of the origin airport", "LIS"), P("destination", "STRING", "IATA code of the destination", "JFK"),
      P("date", "STRING", "Travel date YYYY-MM-DD", "2025-06-01")], [P("adults", "NUMBER", "Number of adult passengers", 1)]),
    ("Music", "Music", ["Search tracks", "Search Tracks", "search_tracks", "getSearchTracks"],
     ["Search music tracks by a free-text query.",
      "Searches music tracks matching a free-text query.",
      "Search for music tracks (songs) by a text query.",
      "Music track search by free-text query."],
     [P("query", "STRING", "Search terms", "blue in green")], [P("limit", "NUMBER", "Maximum results", 10)]),
    ("News_Media", "News", ["Top headlines", "Top Headlines", "top_headlines", "getTopHeadlines"],
     ["Top news headlines for a topic.",
      "Returns the top news headlines about a topic.",
      "Get today's top news headlines for a topic.",
      "Top headlines of the news on a given topic."],
     [P("topic", "STRING", "News topic", "technology")], [P("country", "STRING", "Two-letter country code", "us")]),
    ("Food", "Recipes", ["Recipes by ingredients", "Recipes By Ingredients", "recipes_by_ingredients", "getRecipesByIngredients"],
     ["Find recipes that use the given ingredients.",
      "Finds recipes using a list of ingredients.",
      "Search recipes by the ingredients they use.",
      "Recipes you can cook with the given ingredients."],
     [P("ingredients", "STRING", "Comma-separated ingredients", "tomato,basil")], [P("diet", "STRING", "Diet filter", "")]),
    ("Sports", "Scores", ["Live scores", "Live Scores", "live_scores", "getLiveScores"],
     ["Live scores of the matches of a league.",
      "Returns live match scores for a league.",
      "Get the live scores of a league's matches.",
      "Live scores for the matches in a league."],
     [P("league", "STRING", "League code", "EPL")], [P("date", "STRING", "Match date YYYY-MM-DD", "")]),
    ("eCommerce", "Shop", ["Price by barcode", "Price By Barcode", "price_by_barcode", "getPriceByBarcode"],
     ["Look up a product's price by its barcode.",
      "Returns a product's price from its barcode.",
      "Price lookup of a product by its EAN/UPC barcode.",
      "Get the price of a product identified by its barcode."],
     [P("barcode", "STRING", "EAN or UPC barcode", "4006381333931")], [P("currency", "STRING", "Currency code", "EUR")]),
    ("Mapping", "Maps", ["Geocode address", "Geocode Address", "geocode_address", "getGeocodeAddress"],
     ["Geocode a street address into latitude and longitude coordinates.",
      "Geocodes an address to latitude/longitude coordinates.",
      "Convert a street address into geographic coordinates (latitude, longitude).",
      "Geocoding: street address to latitude and longitude."],
     [P("address", "STRING", "Street address", "1 Main Street, Springfield")], [P("language", "STRING", "Result language", "en")]),
]

# Unique APIs (no equivalent elsewhere): they stay ungrouped.
EXTRAS = {
    ("Quillstone", "Weather"): [("Air quality index", "Air quality index (AQI) and pollutants for a city.", [P("city", "STRING", "City name", "Delhi")], [])],
    ("Nimbus", "Finance"): [("Company filings", "Lists regulatory filings of a listed company.", [P("symbol", "STRING", "Ticker symbol", "MSFT")], [P("year", "NUMBER", "Filing year", 2024)])],
    ("Pocketly", "Music"): [("Lyrics", "Returns the lyrics of a song by its track id.", [P("track_id", "STRING", "Track id", "t-1")], [])],
    ("OpenMeridian", "Mapping"): [("Reverse geocode", "Street address nearest to latitude/longitude coordinates.", [P("lat", "NUMBER", "Latitude", 38.7), P("lon", "NUMBER", "Longitude", -9.1)], [])],
    ("Brightwave", "Sports"): [("Match events stream", "Subscribe to a websocket stream of events of a live match.", [P("match_id", "STRING", "Match id", "m-9")], [])],
}


def api(name, desc, req, opt, **extra):
    return {"name": name, "url": f"https://api.example/{name.lower().replace(' ', '-')}", "method": "GET",
            "description": desc, "required_parameters": req, "optional_parameters": opt, **extra}


def tool(provider, suffix, category, apis):
    host, trait = PROVIDERS[provider]
    return {"tool_name": f"{provider} {suffix}", "category_name": category,
            "tool_description": f"{suffix} service by {provider}. {trait}", "home_url": f"https://{host}/{suffix.lower()}",
            "pricing": "paid" if provider in ("Quillstone", "Brightwave") else "free", "api_list": apis}


def build() -> tuple[dict[str, dict], dict[str, str]]:
    """The tool files by relative path, and the functionality label of every API offered as a group member."""
    files: dict[str, dict] = {}
    labels: dict[str, str] = {}
    names = list(PROVIDERS)
    for gi, (cat, suffix, api_names, descs, req, opt) in enumerate(GROUPS):
        offering = [p for i, p in enumerate(names) if i != gi % len(names)]  # 4 of 5 providers
        for k, prov in enumerate(offering):
            r = json.loads(json.dumps(req))
            if cat == "Mapping" and prov == "Pocketly":  # different input name: not interchangeable
                r[0]["name"] = "query"
            apis = [api(api_names[k], descs[k], r, json.loads(json.dumps(opt)))]
            labels[f"<{cat}>.<{prov} {suffix}>.<{api_names[k]}>"] = f"F{gi:02d}"
            for ename, edesc, ereq, eopt in EXTRAS.get((prov, cat), []):
                apis.append(api(ename, edesc, ereq, eopt))
            files[f"{cat}/{prov.lower()}_{suffix.lower()}.json"] = tool(prov, suffix, cat, apis)
    # Deliberately bad entries, one per filter.
    files["Weather/brightwave_weather.json"]["api_list"].append(
        api("Weather v1", "[DEPRECATED] Old current-weather endpoint, use Current weather.", [P("city", "STRING", "City", "")], []))
    files["Finance/pocketly_markets.json"]["api_list"].append(
        api("Quote legacy", "Legacy stock quote.", [P("symbol", "STRING", "Ticker", "")], [], deprecated=True))
    files["Travel/nimbus_flights.json"]["api_list"].append(api("v2", "", [], []))
    files["Food/nimbus_recipes.json"]["api_list"].append(
        api("Recipe nutrition", "Nutrition facts of a recipe.", [{"name": "recipe_id", "description": "Recipe id"}], []))
    files["Music/quillstone_music.json"]["api_list"].append(
        api(files["Music/quillstone_music.json"]["api_list"][0]["name"], "Search music tracks by a free-text query (second listing).", [P("query", "STRING", "Search terms", "")], []))
    files["News_Media/pocketly_news.json"]["api_list"].append(
        api("Headlines", files["News_Media/pocketly_news.json"]["api_list"][0]["description"],
            files["News_Media/pocketly_news.json"]["api_list"][0]["required_parameters"],
            files["News_Media/pocketly_news.json"]["api_list"][0]["optional_parameters"]))
    files["Sports/zz_quillstone_scores_mirror.json"] = json.loads(json.dumps(files["Sports/quillstone_scores.json"]))
    return files, labels


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    files, labels = build()
    for rel, obj in sorted(files.items()):
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    LABELS.write_text(json.dumps(dict(sorted(labels.items())), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(files)} tool files under {OUT} and {len(labels)} functionality labels to {LABELS.name}")


if __name__ == "__main__":
    main()
