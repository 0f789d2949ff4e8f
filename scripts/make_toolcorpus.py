"""Write petool's built-in tool corpus (ToolBench ``toolenv/tools`` layout) deterministically.

Five fictional providers, each with one non-functional profile (pricing, authentication, SDKs,
licensing, latency...), offer the same ten functionalities in ten categories: 4 providers per
functionality, worded differently, same inputs. A few files are deliberately bad so every stage-01
filter has something to count: deprecated APIs (by word and by flag), an undocumented API, an untyped
parameter, a duplicated tool file, a repeated API name, an alias endpoint; one provider names a
parameter differently so the input-format check of stage 03 has something to split.

Besides its one API of the category's shared functionality, every provider's tool offers 1 to 4 APIs of its
own (``UNIQUE``): functions no other provider offers, each with parameter names of its own, so they never
form a group. They give a tool several APIs, as ToolBench tools have: a user who prefers a tool has several
of its APIs in the history, and the non-preferred items of a rating-integrated history (up to 5 per entry,
drawn from one competing tool, as in the release) have enough APIs to come from.

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

# Per category, ten functions offered by one provider only (tool k of the category takes
# 1 + (gi + k) % 4 of them, in order): name, description, parameters (names unique in the corpus).
UNIQUE = {
    "Weather": [
        ("UV index", "Ultraviolet index forecast for the coming hours at a city.", [P("uv_city", "STRING", "City name", "Madrid")], []),
        ("Pollen count", "Pollen concentration by plant type for a region.", [P("pollen_region", "STRING", "Region name", "Bavaria")], []),
        ("Sunrise and sunset", "Times of sunrise, sunset and twilight for a date at a place.", [P("sun_place", "STRING", "Place name", "Oslo")], [P("sun_date", "STRING", "Date YYYY-MM-DD", "")]),
        ("Marine forecast", "Wave height, swell period and sea temperature for a coastal spot.", [P("marine_spot", "STRING", "Coastal spot", "Nazare")], []),
        ("Weather alerts", "Active severe-weather warnings issued by national services.", [], [P("alert_severity", "STRING", "Minimum severity", "")]),
        ("Historical weather", "Daily weather observations of a past date for a station.", [P("hist_station", "STRING", "Station id", "LPPT"), P("hist_day", "STRING", "Date YYYY-MM-DD", "2020-01-01")], []),
        ("Lightning strikes", "Recent lightning strikes within a radius of a point.", [P("strike_radius_km", "NUMBER", "Radius in km", 50)], []),
        ("Snow report", "Snow depth and open slopes of a ski resort.", [P("ski_resort", "STRING", "Resort name", "Zermatt")], []),
        ("Climate normals", "Thirty-year monthly temperature and rainfall averages of a town.", [P("normals_town", "STRING", "Town", "Seville")], []),
        ("Weather stations", "List of public weather stations in a country.", [], [P("station_country", "STRING", "Country code", "")]),
    ],
    "Finance": [
        ("Dividend history", "Past dividend payments of a listed company.", [P("div_ticker", "STRING", "Ticker", "KO")], []),
        ("Exchange rates", "Latest foreign exchange rates against a base currency.", [], [P("fx_base", "STRING", "Base currency", "")]),
        ("Crypto price", "Spot price of a crypto asset in a fiat currency.", [P("coin_code", "STRING", "Asset code", "BTC")], []),
        ("Earnings calendar", "Upcoming quarterly earnings announcements.", [], [P("earn_week", "STRING", "ISO week", "")]),
        ("Market movers", "Biggest gainers and losers of the trading day.", [P("movers_market", "STRING", "Market code", "NYSE")], []),
        ("Insider trades", "Recent trades by company insiders of a listed company.", [P("insider_ticker", "STRING", "Ticker", "TSLA")], []),
        ("Bond yields", "Government bond yields by maturity for a country.", [P("bond_country", "STRING", "Country code", "DE")], []),
        ("Fund holdings", "Top holdings of an exchange-traded fund.", [P("etf_symbol", "STRING", "ETF symbol", "SPY")], []),
        ("Options chain", "Call and put options of a stock for an expiry date.", [P("chain_ticker", "STRING", "Ticker", "AAPL"), P("chain_expiry", "STRING", "Expiry YYYY-MM-DD", "2025-01-17")], []),
        ("Market holidays", "Days on which the stock exchanges are closed this year.", [], [P("holiday_exchange", "STRING", "Exchange", "")]),
    ],
    "Translation": [
        ("Detect language", "Detect the language a text is written in.", [P("detect_text", "STRING", "Text", "Bom dia")], []),
        ("Supported languages", "All language codes the service can translate between.", [], [P("lang_display", "STRING", "Display language", "")]),
        ("Transliterate", "Convert a text between writing scripts, such as Cyrillic to Latin.", [P("translit_text", "STRING", "Text", "Privet"), P("translit_script", "STRING", "Target script", "Latn")], []),
        ("Dictionary lookup", "Dictionary entries and alternative translations of one word.", [P("dict_word", "STRING", "Word", "house")], []),
        ("Glossary upload", "Store a glossary of fixed term translations for later jobs.", [P("glossary_csv", "STRING", "CSV content", "a,b")], []),
        ("Document translation", "Translate a whole document file given by URL.", [P("doc_url", "STRING", "Document URL", "https://files.example/a.docx")], []),
        ("Usage quota", "Characters translated this month and the remaining quota.", [], [P("quota_month", "STRING", "Month YYYY-MM", "")]),
        ("Example sentences", "Bilingual example sentences that use a word.", [P("example_word", "STRING", "Word", "bank")], []),
        ("Spell check", "Spelling mistakes and suggestions for a text.", [P("spell_text", "STRING", "Text", "recieve")], []),
        ("Speech to text", "Transcribe an audio file given by URL.", [P("audio_url", "STRING", "Audio URL", "https://files.example/a.mp3")], []),
    ],
    "Travel": [
        ("Airport info", "Name, city and terminals of an airport by code.", [P("airport_code", "STRING", "IATA code", "OPO")], []),
        ("Flight status", "Live departure and arrival status of a flight number.", [P("flight_number", "STRING", "Flight number", "TP123")], []),
        ("Hotel search", "Hotels available in a city for check-in and check-out dates.", [P("hotel_city", "STRING", "City", "Rome"), P("checkin", "STRING", "Check-in date", "2025-05-01")], []),
        ("Seat map", "Cabin seat map of a flight with the free seats.", [P("seatmap_flight", "STRING", "Flight id", "F-1")], []),
        ("Baggage rules", "Checked and cabin baggage allowance of an airline.", [P("bag_airline", "STRING", "Airline code", "LH")], []),
        ("Visa requirements", "Whether citizens of one country need a visa for another.", [P("visa_from", "STRING", "Passport country", "BR"), P("visa_to", "STRING", "Destination", "JP")], []),
        ("Car rental", "Rental cars available at a pick-up location.", [P("pickup_location", "STRING", "Pick-up location", "LIS")], []),
        ("Travel advisories", "Official safety advisories for travellers to a country.", [], [P("advisory_country", "STRING", "Country code", "")]),
        ("Airline list", "All airlines with their codes and alliances.", [], [P("airline_alliance", "STRING", "Alliance", "")]),
        ("Train connections", "Rail connections between two stations on a day.", [P("rail_from", "STRING", "From station", "Porto"), P("rail_to", "STRING", "To station", "Lisboa")], []),
    ],
    "Music": [
        ("Artist profile", "Biography, genres and members of a music artist.", [P("artist_name", "STRING", "Artist", "Nina Simone")], []),
        ("Album tracks", "Track list of an album by its id.", [P("album_id", "STRING", "Album id", "al-7")], []),
        ("Top charts", "Current top songs chart of a country.", [], [P("chart_country", "STRING", "Country code", "")]),
        ("New releases", "Albums released this week.", [], [P("release_genre", "STRING", "Genre", "")]),
        ("Concerts nearby", "Upcoming concerts in a city.", [P("concert_city", "STRING", "City", "Austin")], []),
        ("Playlist create", "Create an empty playlist with a title.", [P("playlist_title", "STRING", "Title", "Road trip")], []),
        ("Song key and tempo", "Musical key and beats per minute of a song.", [P("tempo_track", "STRING", "Track id", "t-42")], []),
        ("Radio stations", "Internet radio stations of a genre.", [P("radio_genre", "STRING", "Genre", "jazz")], []),
        ("Similar artists", "Artists similar to a given artist.", [P("similar_to", "STRING", "Artist", "Bjork")], []),
        ("Genre list", "All music genres the catalogue uses.", [], [P("genre_parent", "STRING", "Parent genre", "")]),
    ],
    "News_Media": [
        ("News sources", "Publishers the service indexes, by language.", [], [P("source_language", "STRING", "Language code", "")]),
        ("Article full text", "Full text of a news article by its URL.", [P("article_url", "STRING", "Article URL", "https://news.example/a")], []),
        ("Trending topics", "Topics trending in the news right now.", [], [P("trend_region", "STRING", "Region", "")]),
        ("News archive", "Articles published on a past day about a keyword.", [P("archive_keyword", "STRING", "Keyword", "election"), P("archive_day", "STRING", "Date", "2019-05-26")], []),
        ("Fact checks", "Published fact checks about a claim.", [P("claim_text", "STRING", "Claim", "the moon is hollow")], []),
        ("Podcast episodes", "Latest episodes of a news podcast.", [P("podcast_id", "STRING", "Podcast id", "p-3")], []),
        ("Press releases", "Press releases published by a company.", [P("press_company", "STRING", "Company", "Acme")], []),
        ("Article sentiment", "Sentiment score of a news article.", [P("sentiment_url", "STRING", "Article URL", "https://news.example/b")], []),
        ("Journalist profile", "Articles and beat of a journalist.", [P("journalist_name", "STRING", "Name", "A. Writer")], []),
        ("Breaking alerts", "Breaking news alerts of the last hour.", [], [P("breaking_since", "STRING", "ISO time", "")]),
    ],
    "Food": [
        ("Nutrition facts", "Calories and macronutrients of a food item.", [P("food_item", "STRING", "Food", "avocado")], []),
        ("Wine pairing", "Wines that pair with a dish.", [P("pairing_dish", "STRING", "Dish", "salmon")], []),
        ("Restaurant search", "Restaurants near an address serving a cuisine.", [P("resto_address", "STRING", "Address", "Rua Augusta 1, Lisboa"), P("resto_cuisine", "STRING", "Cuisine", "thai")], []),
        ("Meal plan", "A seven-day meal plan for a calorie target.", [P("daily_calories", "NUMBER", "Calories per day", 2000)], []),
        ("Random recipe", "A random recipe for inspiration.", [], [P("random_tag", "STRING", "Tag", "")]),
        ("Ingredient substitutes", "Substitutes for a cooking ingredient.", [P("substitute_for", "STRING", "Ingredient", "butter")], []),
        ("Cooking converter", "Convert an amount between cooking units.", [P("cook_amount", "NUMBER", "Amount", 2), P("cook_from_unit", "STRING", "From unit", "cup")], []),
        ("Allergen check", "Allergens contained in a packaged food by product code.", [P("allergen_code", "STRING", "Product code", "737628064502")], []),
        ("Cuisine list", "All cuisines the recipe catalogue covers.", [], [P("cuisine_region", "STRING", "Region", "")]),
        ("Grocery prices", "Average grocery prices of a staple food in a country.", [P("staple_item", "STRING", "Staple", "rice")], []),
    ],
    "Sports": [
        ("League standings", "Current table of a football league.", [P("table_league", "STRING", "League code", "PD")], []),
        ("Player stats", "Season statistics of a player.", [P("player_id", "STRING", "Player id", "pl-10")], []),
        ("Team roster", "Squad list of a team.", [P("roster_team", "STRING", "Team id", "tm-5")], []),
        ("Fixtures", "Upcoming matches of a team.", [P("fixture_team", "STRING", "Team id", "tm-8")], []),
        ("Transfer news", "Latest player transfers.", [], [P("transfer_window", "STRING", "Window", "")]),
        ("Head to head", "Past results between two teams.", [P("h2h_home", "STRING", "Home team id", "tm-1"), P("h2h_away", "STRING", "Away team id", "tm-2")], []),
        ("Venue info", "Capacity and location of a stadium.", [P("venue_id", "STRING", "Venue id", "v-4")], []),
        ("Odds", "Bookmaker odds for a match.", [P("odds_match", "STRING", "Match id", "m-77")], []),
        ("Sports list", "All sports the service covers.", [], [P("sport_season", "STRING", "Season", "")]),
        ("Referee profile", "Matches and cards of a referee.", [P("referee_id", "STRING", "Referee id", "r-2")], []),
    ],
    "eCommerce": [
        ("Product reviews", "Customer reviews of a product.", [P("review_product", "STRING", "Product id", "pr-1")], []),
        ("Order tracking", "Shipping status of an order.", [P("tracking_order", "STRING", "Order id", "o-55")], []),
        ("Store locator", "Stores near a postal code.", [P("store_postcode", "STRING", "Postal code", "1000-001")], []),
        ("Deals of the day", "Today's discounted products.", [], [P("deal_category", "STRING", "Category", "")]),
        ("Price history", "Past prices of a product over a year.", [P("history_product", "STRING", "Product id", "pr-9")], []),
        ("Seller rating", "Rating and feedback count of a marketplace seller.", [P("seller_id", "STRING", "Seller id", "s-3")], []),
        ("Product categories", "The shop's product category tree.", [], [P("category_depth", "NUMBER", "Tree depth", "")]),
        ("Shipping cost", "Shipping cost of a parcel to a country.", [P("parcel_kg", "NUMBER", "Weight in kg", 2), P("ship_country", "STRING", "Country", "FR")], []),
        ("Return policy", "Return conditions of a product.", [P("return_product", "STRING", "Product id", "pr-4")], []),
        ("Coupon validate", "Check whether a coupon code is valid.", [P("coupon_code", "STRING", "Coupon", "SAVE10")], []),
    ],
    "Mapping": [
        ("Route directions", "Driving directions between two places.", [P("route_from", "STRING", "Origin", "Porto"), P("route_to", "STRING", "Destination", "Braga")], []),
        ("Elevation", "Ground elevation at coordinates.", [P("elev_lat", "NUMBER", "Latitude", 46.5), P("elev_lon", "NUMBER", "Longitude", 7.9)], []),
        ("Timezone lookup", "Time zone of a place.", [P("tz_place", "STRING", "Place", "Honolulu")], []),
        ("Static map image", "A map image centred on a place.", [P("map_center", "STRING", "Centre", "Paris"), P("map_zoom", "NUMBER", "Zoom level", 12)], []),
        ("Isochrone", "Area reachable within a travel time from a point.", [P("iso_minutes", "NUMBER", "Minutes", 15)], []),
        ("Places nearby", "Points of interest of a type near a place.", [P("poi_type", "STRING", "Type", "pharmacy")], []),
        ("Distance matrix", "Travel distances between several origins and destinations.", [P("matrix_points", "STRING", "Semicolon-separated places", "A;B;C")], []),
        ("Country borders", "Neighbouring countries of a country.", [P("border_country", "STRING", "Country code", "PT")], []),
        ("Postal code lookup", "Places that share a postal code.", [P("zip_code", "STRING", "Postal code", "90210")], []),
        ("Map styles", "The map styles available for rendering.", [], [P("style_theme", "STRING", "Theme", "")]),
    ],
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
            start = sum(1 + (gi + j) % 4 for j in range(k))
            for uname, udesc, ureq, uopt in UNIQUE[cat][start : start + 1 + (gi + k) % 4]:
                apis.append(api(uname, udesc, json.loads(json.dumps(ureq)), json.loads(json.dumps(uopt))))
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
