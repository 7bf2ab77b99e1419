"""Spanish debt-collection lexicon: the patterns the offline classifier matches.

All patterns run on the output of `normalize.normalize`: lower case, no accents, abbreviations
expanded ("xq" -> "porque", "x favor" -> "por favor"), fillers dropped ("po", "che", "wey"),
tokens separated by single spaces and punctuation split off ("no , gracias"). Regional slang is
listed where it matters: money ("lana", "varo", "plata", "pasta", "guita", "lucas"), work
("chamba", "laburo", "curro", "pega"), yes ("sale", "va", "dale", "de una", "bacan", "joya").
"""

from __future__ import annotations

import re


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts))


MONEY = (
    r"(?:dinero|plata|lana|varo|varos|pasta|guita|feria|billete|money|cash|lucas|luca|platita|"
    r"dinerito|recursos?|efectivo|fondos|mango|mangos)"
)
_HUMAN = (
    r"(?:asesor|asesora|asesores|persona|personas|humano|humana|agente|ejecutivo|ejecutiva|"
    r"supervisor|supervisora|gerente|encargado|encargada|operador|operadora|representante|"
    r"alguien|jefe|responsable|ser humano)"
)
_PAID = (
    r"(?:pague|pagamos|liquide|deposite|transferi|consigne|abone|cancele|salde|cubri|yapee|"
    r"yapie|plinee|gire|"
    r"mande el (?:pago|dinero|deposito)|envie el (?:pago|dinero)|"
    r"hice (?:el|la|un|una) (?:pago|deposito|abono|transferencia|consignacion|bizum)|"
    r"realice (?:el|la|un|una) (?:pago|deposito|abono|transferencia|consignacion)|"
    r"(?:he|hemos|habia|habiamos) (?:pagado|liquidado|depositado|transferido|abonado|cancelado|"
    r"saldado|cubierto|hecho (?:el|la|un|una) (?:pago|deposito|abono|transferencia|"
    r"consignacion|bizum))|paid)"
)
_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    r"noviembre|diciembre)"
)
_WEEKDAY = r"(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo)"

# --- the three intents that always win -------------------------------------------------------

OPT_OUT = _rx(
    r"\b(?:no|nunca mas) (?:me |nos )?(?:vuelvan|vuelvas|volvais|vuelva|vuelvai) a "
    r"(?:escrib|contact|llam|mand|envi|molest|busc)\w*",
    r"\bno (?:me |nos )?(?:sigan|sigas|siga|sigais) (?:escribiendo|mandando|enviando|molestando|"
    r"llamando|contactando|fastidiando|jodiendo)",
    r"\bno (?:me |nos )?(?:escriban|escribas|escriba|escribais|manden|mandes|mande|mandeis|"
    r"envien|envies|contacten|contactes|contacte|llamen|molesten|molestes|moleste|fastidien|"
    r"fastidies|jodan|jodas|hinchen|chinguen|frieguen|marquen|hueveen|huevees|weveen|webeen|"
    r"rompan|jeringuen)\b",
    r"(?<!\bno me )(?<!\bno nos )(?<!\bno )"
    r"\bdej\w* de (?:escrib|mand|envi|contact|llam|molest|fastidi|jod|ching|hostig|acos|insist|"
    r"busc|fregar|friegu|hinch)\w*",
    r"\bno (?:quiero|deseo|quiere|queremos) (?:recibir|seguir recibiendo|volver a recibir|"
    r"(?:mas )?mensajes|"
    r"que (?:me |nos )?(?:escriban|contacten|manden|envien|llamen|sigan|vuelvan|molesten|busquen))",
    r"\bno (?:les )?autorizo\b",
    r"\b(?:darme|dame|denme|deme|darse|doy|dar|dan|dese|den|deis|des|de|darnos) de baja\b",
    r"\bbasta (?:de|con) (?:mensajes|escribir|molestar|llamadas|whatsapp|llamar)\b",
    r"^(?:baja|stop|alto|unsubscribe)(?: (?:por favor|ya|!|\.|ok))*$",
    r"\bstop\b",
    r"\bunsubscribe\b",
    r"\bdon ?t (?:text|message|contact|call)\b",
    r"\b(?:borr\w*|elimin\w*|quit\w*|saquen|sacar|saque) (?:mi|mis) (?:numero|datos|telefono|"
    r"contacto|informacion)",
    r"\b(?:borr|elimin|quit|saqu|sac)\w*(?:me|nos) de (?:su|sus|la|las|tu|tus|vuestra|vuestras|"
    r"esta|esa|este) (?:lista|base|contactos|registros|sistema|bases|agenda)",
    r"\bbloque\w*\b.{0,20}\bnumero\b",
    r"\bcancel\w* (?:la |mi |esta )?suscripcion\b|\bdesuscrib\w*",
    r"\bsi (?:me )?(?:siguen|sigue|vuelven a|vuelve a) (?:escrib|mand|molest|llam|contact|"
    r"fastidi|acos)\w*",
)

WRONG_PERSON = _rx(
    r"\bno soy (?:yo|esa|ese|el|ella|la persona|quien|la que|el que|su|el titular|la titular|"
    r"la senora|el senor|fulan\w*|la duena|el dueno|la cliente|el cliente)\b",
    r"\bno soy ?(?:$|[,.!])",
    r"\b(?:numero|numeros|persona|contacto|telefono) equivocad[oa]s?\b",
    r"\b(?:se|te|os|nos|le|les) (?:equivoc|confundi|confund)\w* de (?:numero|persona|contacto|"
    r"telefono|whatsapp|destinatario)",
    r"\b(?:erraron|pifiaron|erro|pifio|erraste|pifiaste) (?:de|el) (?:numero|persona)",
    r"\bwrong (?:number|person)\b",
    r"\bno (?:conozco|conocemos) (?:a |al |a la |a esa |a ese |a esta |a este |a ningun\w* |"
    r"a nadie|ningun\w* |esa persona|ese senor|esa senora)",
    r"\bno (?:se|sabemos|tengo idea de|tengo ni idea de) quien (?:es|sea|era) (?:esa persona|"
    r"ese senor|esa senora|esta persona|la persona|esa senorita|el|ella)\b",
    r"\b(?:aqui|aca) no (?:vive|hay|existe|trabaja|vivimos|conocemos)\b",
    r"\bno vive (?:aqui|aca|mas aqui)\b",
    r"\bya no vive\b",
    r"\b(?:este|ese|el|mi) numero (?:ya )?no es (?:de|del)\b",
    r"\bno es el numero de\b",
    r"\bnumero\b.{0,40}\b(?:lo tengo (?:desde|hace)|lo compre|es mio|me lo dieron|"
    r"me lo asignaron|es nuevo)\b",
    r"\b(?:yo )?no me llamo\b",
    r"\bsoy (?:su|el|la) (?:hermano|hermana|esposo|esposa|mama|papa|hijo|hija|madre|padre|primo|"
    r"prima|tio|tia|ex|vecino|vecina|pareja|novio|novia|companero|companera|abuela|abuelo|"
    r"cunado|cunada|suegra|suegro)\b",
    r"\b(?:es|era) mi (?:ex|expareja|exesposo|exesposa|exnovio|exnovia|exmarido|exmujer)\b",
    r"\bsoy otra persona\b",
    r"^(?:no , )?(?:aqui|aca) no es\b",
    r"\bno es (?:aqui|aca)\b",
    r"\bno (?:la|lo|los|las) conozco\b",
    r"\bya no (?:usa|tiene|ocupa) (?:este|ese) (?:numero|telefono|celular)\b",
    r"\b(?:este|ese) (?:numero|telefono|celular) ya no (?:es|lo usa|lo tiene)\b",
)
# "se equivocaron" / "esta equivocado": a wrong number unless it is about the figures.
WRONG_PERSON_WEAK = _rx(
    r"\bse equivoc(?:aron|o|an)\b",
    r"\bos habeis equivocado\b",
    r"\b(?:esta|estan|estas) equivocad[oa]s?\b",
    r"\bte equivocaste\b",
    r"^(?:no |si )?(?:, )?equivocad[oa]s?\b",
)
WRONG_PERSON_GUARD = re.compile(
    r"\b(?:monto|cobro|cantidad|cifra|saldo|interes|intereses|cuotas?|fecha|cuenta|calculo|"
    r"cargo|precio|descuento)\b"
)

REQUEST_HUMAN = _rx(
    rf"\b(?:hablar|tratar|comunicarme|conversar|platicar|charlar|negociar|hablarlo|tratarlo|"
    rf"arreglarlo|resolverlo|verlo)\b[^.?!]{{0,30}}\bcon (?:un |una |el |la |algun |alguna |"
    rf"tu |su |otra )?{_HUMAN}\b",
    r"\b(?:talk|speak|chat) (?:to|with) (?:a |an |the )?(?:real )?(?:person|human|agent|"
    r"representative|someone|manager|supervisor|operator)\b",
    rf"\b(?:pasa|pase|pasen|pasame|paseme|pasenme|pasas|pasar|pon|ponme|pongame|ponganme|"
    rf"comunica|comunicame|comunique|"
    rf"comuniqueme|comuniquenme|comunicas|comunicar|conecta|conectame|conecten|transfiere|"
    rf"transfiereme|transfieran|derive|derivame|deriven) (?:con|a) (?:un |una |el |la |algun |"
    rf"alguna |tu |su )?{_HUMAN}\b",
    r"\b(?:llam|contact|atiend|atend|marq|marc|comuniqu)\w* (?:un |una |algun |alguna |el |la |"
    r"tu |su )?(?:asesor|asesora|ejecutivo|ejecutiva|persona|humano|humana|agente|supervisor|"
    r"supervisora|operador|operadora|representante|encargado|encargada|gerente)\b",
    r"\bme (?:llame|llamen|llamara|llamaran|contacte|contacten|atienda|atiendan|marque|marquen|"
    r"hable|hablen) (?:alguien|una persona|un humano|un asesor|una asesora)\b",
    r"\b(?:llamenme|marquenme|llameme|marqueme|llamame|marcame|hablenme|hableme)\b",
    r"\b(?:necesito|quiero|queremos|prefiero|deseo|pido|solicito|exijo|quisiera) (?:hablar con |"
    r"que me atienda )?(?:un |una |el |la |a )?(?:asesor|asesora|persona|humano|humana|agente|"
    r"ejecutivo|ejecutiva|supervisor|supervisora|operador|operadora|representante|gerente|"
    r"encargado)\b",
    r"^(?:con )?(?:un |una |el |la )?(?:asesor|asesora|agente|humano|persona|operador|operadora|"
    r"ejecutivo|ejecutiva|supervisor|human|agent|representante)(?: humano)?(?: por favor| [!.?])*$",
    r"\b(?:hay|existe|tienen) (?:alguna|algun|alguien|una|un) (?:persona|humano|asesor|ejecutivo|"
    r"agente)\b",
    r"\bno (?:quiero hablar )?con (?:un |una |el )?(?:robot|bot|maquina|contestadora|programa)\b",
    r"\b(?:persona|humano) (?:real|de verdad|de carne y hueso)\b",
    r"\batencion (?:personalizada|humana|telefonica)\b",
    r"\batencion (?:de|con|por) (?:un |una )?(?:persona|humano|asesor|asesora|ejecutivo|ejecutiva|"
    r"agente)\b",
    r"\b(?:real person|human please|a human)\b",
    r"\b(?:puede|pueden|podria|podrian|podeis|puedes|podes) (?:llamar|marcar|contactar|"
    r"telefonear)(?:me|nos)?\b(?! (?:mas|despues))",
    r"\b(?:prefiero|mejor|quiero) (?:hablarlo |tratarlo |verlo |arreglarlo )?(?:por telefono|"
    r"por llamada|en persona|en la oficina)\b",
)

# --- already paid ----------------------------------------------------------------------------

ALREADY_PAID = _rx(
    rf"\bya (?:te |le |les |lo |la |se |os |me )?(?:lo |la )?{_PAID}\b",
    r"\bya (?:esta|estaba|quedo|quedaron|fue|estan|ha sido|habia sido|lo tengo) (?:todo )?"
    r"(?:pagad[oa]s?|pago|liquidad[oa]s?|saldad[oa]s?|cancelad[oa]s?|cubiert[oa]s?|abonad[oa]s?|"
    r"depositad[oa]s?|transferid[oa]s?)\b",
    r"\b(?:esta|estaba|quedo|fue|ha sido) (?:ya )?(?:pagad[oa]|liquidad[oa]|saldad[oa]|"
    r"cancelad[oa])\b",
    rf"\b{_PAID} (?:todo |la deuda |el total |esa deuda |eso |la cuota |el pago )?(?:ayer|antier|"
    rf"anteayer|hace|el {_WEEKDAY}|la semana pasada|el mes pasado|en {_MONTH}|desde|"
    rf"esta manana|hoy temprano|por transferencia|en oxxo|en el banco|con tarjeta)\b",
    rf"\bhace [a-z0-9 ]{{1,20}} {_PAID}\b",
    r"\b(?:i )?already paid\b",
    r"\bya se (?:pago|liquido|cancelo|saldo|cubrio|abono|deposito|transfirio)\b",
    r"\bi paid\b",
    r"\bya no (?:les |le |te )?debo nada\b",
    r"\bya lo hice\b|\bya (?:esta|quedo) hecho\b",
    r"\btengo (?:el |mi )?paz y salvo\b",
    r"\b(?:te|le|les|os) (?:mando|envio|adjunto|paso|comparto) (?:el|la|mi) (?:comprobante|voucher|"
    r"recibo|justificante|boucher|vaucher|ticket|captura|foto del (?:pago|voucher|comprobante))",
    r"\badjunto (?:el |la |mi )?(?:comprobante|voucher|recibo|justificante)",
)
# Accented first-person preterite ("pagué", "transferí") is unambiguous past, even without "ya".
PAST_ACCENTED = re.compile(
    r"\b(?:pagué|liquidé|deposité|transferí|aboné|consigné|cancelé|saldé|yapeé|cubrí)(?!\w)"
)
# Hypothetical questions ("¿qué pasa si pago después?") ask for information.
INFO_HYPOTHETICAL = re.compile(
    r"\b(?:que|q) pasa si\b|^(?:¿ )?y si\b[^?]*\?|\bque me (?:hacen|pasa)\b"
)
# "ya habia pagado una parte" is a partial payment, not "it is paid".
ALREADY_PAID_PARTIAL = re.compile(
    r"^ ?(?:solo |nada mas |nomas )?(?:una parte|la mitad|un abono|parte|un poco|algo|una cuota)\b"
)
ALREADY_PAID_FUTURE = re.compile(r"\b(?:cuando|si|apenas|hasta que|en cuanto|para que) $")

# --- pay now ---------------------------------------------------------------------------------

PAY_NOW = _rx(
    r"\b(?:quiero|deseo|voy a|necesito|quisiera|me gustaria|queria|vengo a|puedo|podria) "
    r"(?:saber como (?:puedo |hago para )?)?(?:pagar|liquidar|saldar|cancelar|cubrir|finiquitar|"
    r"quitarme|salir de|dejar en cero)(?:lo|la)?\b[^.?!,]{0,25}\b(?:todo|de golpe|total|"
    r"totalidad|completo|completa|"
    r"toda la deuda|deuda completa|de una|de una vez|ya|ahora|ahorita|hoy|de contado|altiro|"
    r"inmediato|inmediatamente|lo que debo|el saldo|la deuda|mi deuda|esta deuda|encima)\b",
    r"\b(?:como|donde|adonde|en donde|por donde|a que (?:cuenta|numero|alias|cbu|cvu|clabe|iban)|"
    r"a cual cuenta|a donde|"
    r"a quien|por que medio) (?:le |lo |la |te |les |se )?(?:hago para |puedo |podria |se puede |"
    r"tengo que |debo |hay que |hago el )?(?:pag|deposit|transfier|transfer|consign|yape|plin|abon|"
    r"liquid|cancel|envi|mand|gir|realiz)\w*",
    r"\b(?:pasa|pasame|pasenme|pasas|pasen|pase|paseme|manda|mandame|mandeme|mandenme|mandas|"
    r"mande|envia|enviame|envieme|envienme|envias|envie|dame|deme|denme|das|regala|regalame|"
    r"regaleme|regalas|facilita|facilitame|facilitas|comparte|compartime|compartes|necesito|ocupo|"
    r"dais|dan|da|puedes dar|pueden dar|puede dar|podeis dar|"
    r"cual es|dime|digame|indica|indicame|indiqueme|mandar|enviar|pasar|dar) (?:por favor )?"
    r"(?:el |la |los |las |tu |su |sus |tus |un |una |me )?(?:numero de cuenta|cuenta bancaria|"
    r"cuenta para|cuenta|clabe|cbu|cvu|alias|link|enlace|liga|datos(?! de la deuda)|referencia|"
    r"iban|convenio|codigo de pago|medios de pago|formas de pago|metodo de pago|qr|nequi|"
    r"daviplata|yape|plin|bizum|mercado pago|paypal|zelle|"
    r"numero para (?:pagar|depositar|transferir|yapear))\b",
    r"\b(?:aceptan|reciben|recibis|aceptas|puedo pagar|se puede pagar|puedo depositar|"
    r"puedo hacer el pago|tienen|hay|pagar|pago) (?:con |en |por |via |mediante |a traves de )?"
    r"(?:tarjeta|oxxo|nequi|daviplata|yape|plin|pse|mercado ?pago|mercadopago|transferencia|"
    r"efectivo|deposito|paypal|zelle|bizum|efecty|baloto|rapipago|pago ?facil|7 ?eleven|spei|"
    r"webpay|khipu|link|enlace|codi|qr)\b",
    r"\bya tengo (?:el |la |los )?(?:dinero|plata|lana|varo|pasta|guita|feria|money|total|monto)\b",
    r"\b(?:liquido|pago|cancelo|saldo|cubro) (?:hoy |ya |ahora |ahorita |ahora mismo |de una )?"
    r"(?:todo|el total|completo|la totalidad)\b(?! (?:el|a fin|en la|la proxima|manana))",
    r"\b(?:pay|paying) (?:it )?(?:all|in full|now|today|everything)\b",
    r"\b(?:how|where) (?:can|do) i pay\b",
    r"\b(?:quiero|deseo|voy a) pagar ?(?:[,.!?]|$)",
    r"\blink de pago\b|\benlace de pago\b",
    r"\b(?:link|enlace|liga|cuenta|datos) (?:pa|para) (?:pagar|depositar|transferir)\b",
    r"\b(?:por|con|via|en) (?:yape|plin|nequi|daviplata|oxxo|bizum|mercado ?pago|zelle|paypal|"
    r"spei|pse|efecty|rapipago|pago ?facil)\b",
    r"\ba nombre de quien\b",
    r"\b(?:en|a) que (?:banco|cuenta|numero|alias|cbu|clabe|tienda|lugar) (?:le |te |les |lo )?"
    r"(?:pag|deposit|transfier|consign|yape|abon|mand)\w*",
)

# --- info request ----------------------------------------------------------------------------

INFO_REQUEST = _rx(
    r"\bcuanto (?:es|seria|sale|serian|son|debo|le debo|les debo|te debo|me falta|falta|me queda|"
    r"queda|tengo que pagar|hay que pagar|asciende|me cobran|cobran|va|llevo|debe|debemos|tiempo|"
    r"plazo|vale|habria que|tendria que|me toca|da en total|seria en total)\b",
    r"\ba cuanto (?:asciende|llega|sube)\b",
    r"\b(?:de|a|por|para) que (?:es|era|seria|corresponde|se trata|empresa|entidad|banco|tienda|"
    r"compania|deuda|cobro|credito|prestamo|fecha|me cobran|me escriben|me estan|viene|producto|"
    r"servicio|concepto|institucion|financiera)\b",
    r"\bde que\s*\?",
    r"\b(?:quien|quienes) (?:habla|es|eres|sos|son|sois|me escribe|me escriben|escribe|me busca|"
    r"me contacta|me habla|me esta|manda|envia|llama|me llama)\b",
    r"\bde parte de quien\b",
    r"\bcon quien (?:hablo|tengo el gusto|estoy hablando)\b",
    r"\bque (?:empresa|deuda|banco|tienda|entidad|compania|cobro|credito|prestamo|financiera)\b",
    r"\bque es (?:esto|eso|esta deuda|ese cobro)\b",
    r"\by eso\b.{0,15}\?",
    r"\bcual (?:es )?(?:la |el )?(?:deuda|saldo|monto|empresa|banco|tienda|total)\b",
    r"\b(?:de donde|como|donde) (?:sacaron|consiguieron|obtuvieron|tienen|tienes|saco|sacaste|"
    r"sacan) (?:mi|mis|este) (?:numero|telefono|datos|contacto|cel|celular|whatsapp)",
    r"\b(?:me |nos )?(?:puede|pueden|podria|podrian|podeis|puedes|podes|podrias) (?:enviar|mandar|"
    r"dar|decir|explicar|pasar|detallar|informar|aclarar|indicar|compartir)\w* (?:el |la |los |"
    r"las |mi |un |una )?(?:mas )?(?:detalle|desglose|estado de cuenta|monto|saldo|informacion|"
    r"info|cuanto|"
    r"como|de que|que|explicacion|documento|contrato|deuda|historial|fecha|origen|motivo|por que)",
    r"\b(?:me )?(?:explica|explicas|explique|expliquen|explicame|expliqueme|aclara|aclarame|"
    r"aclareme|detallame|informame|informeme)\b",
    r"\b(?:que|q) pasa si (?:no )?(?:pago|pagamos|no)\b",
    r"\bhasta cuando (?:tengo|puedo|hay|es|seria)\b",
    r"\bcuanto tiempo tengo\b",
    r"\bcuando (?:vence|venceria|seria|es la|toca|tengo que|debo|empiezo|empieza|comienza)\b",
    r"\b(?:tiene|tienen|incluye|incluyen|cobran|genera|generan|lleva|llevan) (?:algun |algun tipo "
    r"de |mas |tambien )?(?:interes|intereses|recargo|recargos|comision|comisiones|cargo|cargos|"
    r"multa)\b",
    r"\bque (?:opciones|planes|alternativas) (?:tengo|hay|me dan|me ofrecen|tienen|ofrecen)\b",
    r"\b(?:es|sera|esto es|son) (?:una )?(?:estafa|fraude|scam)\b",
    r"\bcomo se que\b",
    r"\bson de verdad\b",
    r"\beres (?:un |una )?(?:bot|robot|maquina|persona|humano|ia|inteligencia artificial)\b",
    r"\b(?:datacredito|buro|infocorp|equifax|dicom|veraz|asnef|sentinel|centrales de riesgo|"
    r"historial crediticio)\b[^.!]*\?",
    r"\b(?:tienen|hay) (?:alguna |una )?(?:oficina|sucursal)\b",
    r"\b(?:who is this|what is this|who are you|what is this about|how much do i owe)\b",
    r"\bdesglose\b",
    r"\bestado de cuenta\b",
    r"\bdetalle de (?:la deuda|cuanto|mi deuda)\b",
    r"\bpor que (?:me )?(?:cobran|estan cobrando|escriben|me escriben|debo|tengo que pagar|"
    r"me llegan|me llaman)\b",
    r"\bpaz y salvo\b[^.!]*\?",
    r"^(?:¿ )?(?:y )?(?:que pasa )?si (?:me atraso|me retraso|no pago|dejo de pagar|no alcanzo|"
    r"adelanto|pago antes|pago despues|no llego|me demoro|pago tarde)\b",
)
# Interrogatives for the low-confidence "it's a question" fallback.
QUESTION_WORD = re.compile(r"\b(?:que|cual|cuales|cuanto|cuanta|cuando|como|donde|quien|quienes)\b")
SMALL_TALK = re.compile(
    r"\bcomo (?:esta|estas|estan|esta usted|le va|te va|les va|amaneci\w*|anda|andas)\b|"
    r"\bque tal\b|\bque onda\b|\bcomo vas\b"
)

# --- objections ------------------------------------------------------------------------------

AMOUNT = _rx(
    r"\b(?:cobro|cobros|monto|montos|cargo|cargos|comision|comisiones|tasa|tasas|cuota|cuotas)"
    r" (?:muy |super |re )?abusiv[oa]s?\b",
    r"\b(?:carisim[oa]s?|excesiv[oa]s?|exagerad[oa]s?|barbaridad|locura|"
    r"costos[oa]s?|impagables?|dineral|fortuna|platal|afano|robo)\b",
    rf"\b(?:es|son|seria|sale) (?:un |una )?muchisim[oa]s?\b|\bmuchisim[oa]s? {MONEY}\b",
    r"\b(?:muy|demasiado|super|re|bien|tan|bastante|harto) (?:alt[oa]s?|elevad[oa]s?|car[oa]s?|"
    r"pesad[oa]s?|salad[oa]s?)\b",
    r"\b(?:esta|estan|es|son|sale|salen|queda|quedan) (?:muy )?(?:car[oa]s?|alt[oa]s?|"
    r"elevad[oa]s?|pesad[oa]s?)\b",
    r"\b(?:es|son|seria|serian|sigue siendo|siguen siendo|sigue saliendo|me parece|es un|es una) "
    r"(?:muy |bastante |demasiad[oa] )?(?:mucho|mucha|demasiado|demasiada|bastante|harto|harta|"
    r"un monton|un buen|un dineral|una fortuna|una barbaridad|una locura|un robo|un abuso)\b",
    rf"\b(?:mucho|mucha|harta|harto|bastante|demasiado|demasiada|tanto|tanta|un monton de|"
    rf"un buen de|semejante) {MONEY}\b",
    r"\btoo (?:much|expensive|high)\b",
    r"\bdemasiado ?(?:[,.!?]|$|para mi)",
    r"\bno (?:me )?(?:alcanza|alcanzan|alcanzaria|ajusta|completo)\b",
    r"\bno (?:llego|llegamos) (?:con|a pagar|a cubrir|a juntar|a completar|ni)\b",
    r"\bni (?:me )?(?:alcanza|llego)\b",
    r"\bno tengo (?:tanto|tanta|todo|toda|esa|ese|esas|esos|la totalidad|el total|semejante|"
    r"para (?:pagar(?:lo|la|les|le|te)? )?(?:todo|tanto|eso|esa|ese|esas|esos))\b",
    # "no tengo para pagarlo todo junto", "no puedo de una sola vez": not in one payment
    r"\bno (?:\w+ ){0,2}?(?:tengo|puedo|podria|podre|alcanzo|alcanza|llego|junto)\b[^.?!;]{0,30}"
    r"\b(?:todo junto|toda junta|todo de una|de una sola vez|de una vez|de golpe|de un jalon|"
    r"en un solo pago|de un solo pago|en una sola exhibicion|de contado)\b",
    r"\b(?:esa|ese|esas|esos) (?:cantidad|cantidades|monto|dinero|plata|suma|lucas|pasta|cuotas?|"
    r"cifra)\b[^.,;!?]{0,15}\bno (?:la |lo |las |los )?(?:tengo|puedo|alcanzo)",
    r"\bno (?:puedo|podria|podre|voy a poder|alcanzo a|puedo asumir) (?:pagar |dar |cubrir |con |"
    r"asumir )?(?:eso|tanto|tanta|esa(?! fecha)|ese(?! dia)|esas(?! fechas)|esos(?! dias)|todo|"
    r"semejante|la cuota|las cuotas|el monto|\$|\d)",
    r"\b(?:cantidades|montos|cuotas|cifras) que no (?:puedo|podemos)\b",
    r"\b(?:un|una|algun|alguna|mas|otro|otra|mejor|buen|buena|algo de|ningun)"
    r" (?:descuento|descuentito|rebaja|rebajita|quita|discount|condonacion)\b",
    r"\b(?:quiero|queria|necesito|pido|den|denme|dame|deme|hagan|hagame|haganme|hacen|hace|"
    r"solicito|ocupo) (?:me )?(?:descuento|descuentito|rebaja|rebajita|quita|discount|"
    r"condonacion)\b",
    r"\b(?:rebaj|baj|quit|condon|perdon|reduc|disminu)\w* (?:(?:los|el|la|las|algo de|un poco de|"
    r"un poco|algo|un poquito) )?(?:intereses|interes|recargos?|multas?|cargos?|comisiones|moras?|"
    r"monto|cuota|cuotas|deuda|algo|un poco|un poquito|el total|la cantidad)\b",
    r"\b(?:bajenle|bajele|bajale|bajenme|rebajenme|rebajeme|rebajame|rebajenle|bajarle)\b",
    r"\bintereses?\b[^.;!?]{0,25}\b(?:alt|abusiv|excesiv|injust|exagerad|much|elevad|impagable|"
    r"usura)\w*",
    r"\btant[oa]s? intereses?\b",
    r"\bcobran cualquier cosa\b",
    r"\b(?:de )?donde (?:quieren|quiere|quieres|voy a|saco|sacare|saque)\b[^.?!]{0,15}\b(?:saque|"
    r"sacar|saco|pagar)\b",
    r"\bgano (?:muy )?(?:poco|poquito|el minimo|lo minimo|una miseria)\b",
    r"\b(?:para|con) lo que (?:yo )?gano\b",
    r"\bno me salen las cuentas\b",
    r"\bpor encima de lo que\b",
    r"\b(?:esta|es|son|estan) (?:bien |muy |super )?canon\b",
    rf"\b(?:una cagada de|un chingo de|un vergo de|un montonal de|una pila de|una bocha de|"
    rf"un toco de|un huevo de|un friego de|un putero de) {MONEY}\b",
    r"\b(?:es|son|sale|cuesta|seria) (?:un chingo|una cagada|un montonal|una bocha|un toco|"
    r"un huevo|un friego|un putero)\b",
    r"\bcomo que (?:\$ )?\d",
    r"\bsi (?:era|fue|eran|fueron) (?:una deuda |un prestamo |un credito )?(?:chiquit[oa]|poco|"
    r"poquito|menos|nada)\b",
    r"\bintereses sobre intereses\b",
    r"\b(?:no es justo|injust[oa]s?)\b",
    r"\b(?:so |muy |too )?expensive\b",
    r"\bno me (?:da|dan|alcanza) (?:el|los|la) (?:bolsillo|presupuesto|numeros|sueldo|quincena)\b",
    r"\bno me (?:cuadran|dan) los numeros\b",
    r"\bsea menos\b|\bmenos cantidad\b|\bmas barat[oa]s?\b|\bmas baj[oa]s?\b|\bmenos caro\b",
    r"\b(?:paston|pastizal|un huevo de (?:dinero|plata|pasta)|un ojo de la cara)\b",
    r"\b(?:can ?t|cannot|can not) afford\b|\btoo expensive\b",
    r"\bmas no (?:puedo|alcanzo|llego)\b",
    r"\bes (?:todo )?lo (?:unico )?que (?:puedo|tengo|alcanzo)\b",
    r"\bes lo maximo que\b",
    r"\bno me da para mas\b",
    r"\bes un robo\b|\bque robo\b|\bun abuso\b|\bque abuso\b",
    r"\bno (?:se|sabemos) si (?:me |nos )?(?:alcance|alcanza|alcanzaria|llegue|llego)\b",
    r"\blo (?:maximo|mas) que (?:puedo|podria|alcanzo|llego)\b",
    r"\bsi me (?:hacen|dan|haces|das|hace|da|hacen un|dejan) (?:el |un |algun )?"
    r"(?:descuento|rebaja|quita)\b",
    r"\b(?:cobran|cobra|cobraron|cobro|cargan|cargaron|meten|metieron) [^.?!]{0,30}\bque nunca "
    r"(?:me |nos )?(?:explicaron|dijeron|informaron|avisaron)\b",
)
DISPUTE = _rx(
    r"\bcobr\w* de mas\b",
    r"\bcobr\w* (?:hasta )?lo que no (?:debo|debia|debemos)\b",
    r"\bme (?:vuelven|volvieron|quieren volver) a cobrar\b",
    r"\b(?:cobr\w*|pid\w*|piden) (?:el doble|el triple)\b|\bel doble de lo que\b",
    r"\b(?:cobro|monto|cantidad|cifra|saldo|cuenta|cargo|calculo) (?:esta|estan|es) "
    r"(?:mal|equivocad\w*|incorrect\w*|errone\w*)",
    r"\bmal (?:cobrad|calculad)[oa]s?\b",
    r"\bno reconozco\b",
    r"\bdesconozco (?:esa|ese|la|el) (?:deuda|cobro|credito|prestamo|cargo)",
    r"\bnunca (?:pedi|saque|solicite|firme|tuve|contrate|use|adquiri|compre|tramite)\b",
    r"(?<!\bya )\bno (?:le |les |te |os )?debo (?:eso|tanto|nada|esa cantidad|ese monto|esa plata|"
    r"ese dinero|esa deuda)\b",
    r"\b(?:eso|esa deuda|ese credito|ese prestamo|esa cuenta|ese cobro) no es mi[oa]\b",
    r"\bno es mi deuda\b",
    r"\bno (?:me )?corresponde\b",
    r"\bno es correcto\b",
    r"\bno (?:coincide|cuadra|concuerda)\b",
    r"\bmas de lo que (?:me prestaron|pedi|debo|debia|saque)\b",
    r"\bpor encima de lo que (?:me prestaron|pedi|debo|debia|saque)\b",
    r"\bincorrect[oa]\b",
    r"\bno puede ser\b",
    r"\bdebia (?:mucho )?menos\b",
    r"\bpedi [^.?!]{1,15} y ahora\b",
    r"\b(?:si|pero) (?:yo )?(?:solo |nomas |nada mas )?(?:saque|pedi|solicite|me prestaron|"
    r"me dieron)\b",
)

_NOW = (
    r"(?:ahorita|ahora|ahora mismo|en este momento|por el momento|por ahora|de momento|"
    r"por lo pronto|este mes|esta semana|esta quincena|hoy|right now|todavia|aun|este momento|"
    r"estos dias|esta fecha|esa fecha|ese dia|en estos momentos|estos momentos|this week|"
    r"this month|today|now)"
)
_CANNOT = (
    r"(?:no (?:\w+ ){0,2}?(?:puedo|tengo|cuento|alcanza|podre|podria|voy a poder|estoy para|"
    r"me viene|me es posible|es buen momento|es el momento|podemos|hay|me pagan|me han pagado|"
    r"me depositan|me llega|cobro|voy a tener|tendre|estoy en condiciones|me da)|imposible|"
    r"no se puede|complicado|dificil)"
)
# Timing objections that stand even inside a counteroffer ("ahorita no, pero el 30 le pago").
TIMING_STRONG = _rx(
    rf"\b{_NOW}\b[^,.;!?]{{0,40}}\b{_CANNOT}\b",
    rf"\b{_CANNOT}\b[^,.;!?]{{0,40}}\b{_NOW}\b",
    r"\b(?:da|dame|deme|denme|den|regal\w*|concede\w*|necesito|ocupo|pido|dan|das|dar) (?:un |"
    r"unos |unas |mas |un poco (?:de |mas de )?)?(?:chance|chancecito|tiempo|tiempito|plazo|"
    r"prorroga|oportunidad|dias mas|unos dias|unas semanas|semanas|mas tiempo|espera|respiro)\b",
    r"\bmas (?:tiempo|plazo)\b",
    r"\b(?:dame|deme|denme|esperame|espereme|esperenme|espera|espere|esperen|aguantame|"
    r"aguanteme|aguantenme) hasta\b",
    r"\b(?:esper|aguant)\w* (?:unos dias|unas semanas|un tiempo|a que|hasta que)\b",
    r"\b(?:cuando|hasta que|en cuanto|apenas|una vez que) (?:me |lo |la |los |las |le )?(?:paguen|"
    r"cobre|cobremos|depositen|llegue|caiga|junte|tenga|pueda|consiga|encuentre|recupere|salga|"
    r"den|reciba|venda|liquiden|mejore|estabilice|reincorpore|vuelva a trabajar)\b",
    r"\bno es (?:buen |el |un buen |mi )?momento\b",
    r"\bque me (?:esperen|espere|esperes|esperais)\b|\bme (?:pueden|puede|puedes|podrian) "
    r"esperar\b|\besperenme\b",
    r"\bno me viene bien\b",
    r"\bno estoy en condiciones\b",
    r"\b(?:menos|mucho menos) (?:ahorita|ahora|este mes|hoy)\b",
    r"\bsin (?:dinero|plata|lana|varo|un peso|un centavo|recursos|efectivo|liquidez|un mango|"
    r"un sol|fondos|money|cash|un duro|blanca)\b",
    r"\bno tengo (?:ni )?(?:dinero|plata|lana|varo|un peso|ni un peso|un centavo|recursos|"
    r"efectivo|un mango|ni uno|para comer|un sol|money|guita|pasta|feria|un duro|liquidez|"
    r"como pagar|con que pagar|para pagar)\b(?! (?:tanto|todo|eso|esa|ese))",
    r"\b(?:corto|cortos|corta|justo|justa|justos) de (?:plata|dinero|lana|varo|lucas|billete|"
    r"dinero|pasta|guita)\b",
    r"\bcomo me (?:organizo|acomodo|las arreglo)\b",
    r"\b(?:ando|estoy|estamos|andamos) (?:bien |re |super |muy )?(?:bruja|brujo|pato|pata|seco|"
    r"seca|pelado|pelada|arrancado|arrancada|en la olla|quebrado|quebrada|sin un peso|pobre|"
    r"misio|misia|aguja|chiro|chira|corto|corta|sin un sol|sin un mango|sin una luca|"
    r"en la lona|en la quiebra)\b",
    r"\bni (?:un|una) (?:quinto|cinco|peso|centavo|sol|luca|mango|duro|cobre|varo)\b",
    rf"\b{_NOW} no\b",
    r"\b(?:apretad[oa]s?|quebrad[oa]s?|en la ruina)\b",
    r"\bno cuento con (?:el |los |la )?(?:recurso|recursos|dinero|fondos|plata)\b",
    r"\b(?:not now|right now no|not right now)\b",
    r"\bantes (?:es |me es |seria )?imposible\b|\bantes no (?:puedo|tengo|me alcanza)\b",
    r"\b(?:recien|hasta|hasta el|hasta que) (?:cobro|me pagan|me depositan|me llega|me cae)\b",
    r"\bcan ?t pay (?:right )?now\b|\bcannot pay (?:right )?now\b",
    r"\bno (?:puedo|podre|podria|voy a poder) pagar(?:le|les|te|os)?\b(?! (?:eso|tanto|todo|esa|"
    r"ese|esas|esos|la|las|el|los|semejante|\d|\$))",
    r"^no (?:puedo|podre|voy a poder)(?: [,.!])*$",
)
# Vaguer "later": counts as a timing objection unless the debtor is making a concrete offer.
TIMING_WEAK = _rx(
    r"\b(?:mas adelante|mas adelantito|otro dia|otro mes|el otro mes|al otro mes|"
    r"el mes que viene|el proximo mes|el siguiente mes|el que viene|a principios? de mes|"
    r"mas tarde|later|next month)\b",
    r"\b(?:despues|luego|mas tarde|otro dia) (?:te |le |les |os )?(?:pago|deposito|abono|"
    r"transfiero|cancelo|vemos|hablamos|pagare|veo)\b",
    r"\b(?:despues|luego) (?:de|del) (?:la quincena|cobrar|que me paguen)\b",
    r"\b(?:pagar|pago|pagarle|pagarte|pagarles) (?:mas )?(?:despues|luego|mas tarde|mas adelante|"
    r"otro dia)\b",
)

EMOTION = _rx(
    r"\b(?:estres\w*|angusti\w*|preocupad[oa]s?|preocupacion|verguenza|avergonzad[oa]|triste|"
    r"tristeza|deprimid[oa]|depresion|ansiedad|ansios[oa]|nervios|nervios[oa]|miedo|asustad[oa]|"
    r"desesperad[oa]|desesperacion|agobi\w*|hartad[oa]|hastiad[oa]|podrid[oa]|chat[oa]s?|"
    r"frustrad[oa]|frustracion|enojad[oa]|furios[oa]|emputad[oa]|encabronad[oa]|coraje|rabia|"
    r"indignad[oa]|humillad[oa]|humillacion|acos\w*|hostig\w*|ladrones|rateros|estafadores|"
    r"sinverguenzas|abuso|abusivos?|robo|afano|usura|usureros|desastre|terrible|horrible|fatal|"
    r"destrozad[oa]|devastad[oa]|llor\w*|insomnio|sufriendo|sufro|emosad|emoangry|stressed|"
    r"stress|anxious|depressed|worried|scared|upset|angry|ashamed)\b",
    r"\b(?:momento|situacion|etapa|racha) (?:muy |super |bien |bastante )?(?:dificil|duro|dura|"
    r"complicad[oa]|critic[oa]|fe[oa])\b",
    r"\bpasando por (?:un |una )?(?:mal|malos|dificil|mala)\b",
    r"\bhart[oa]s?\b(?! (?:plata|dinero|lana|pasta|lucas|billete|money|caro|cara))",
    r"\bme siento (?:muy |super |re |bien |tan )?(?:mal|fatal|terrible|horrible|triste|"
    r"presionad[oa]|acosad[oa]|humillad[oa]|angustiad[oa]|agobiad[oa]|impotente|culpable)\b",
    r"\bme (?:da|dio|dan|daba) (?:mucha |mucho |tanta )?(?:pena|verguenza|miedo|coraje|rabia|"
    r"ansiedad|angustia)\b",
    r"\bno (?:duermo|puedo dormir|he dormido|aguanto|soporto)\b",
    r"\bya no (?:puedo mas|se que hacer|aguanto|soporto)\b",
    r"\bno se que (?:hacer|voy a hacer)\b",
    r"\btodo me sale mal\b",
    r"\bquiero morir\w*\b|\bme quiero morir\b",
    r"\bno puedo con esto\b",
    r"\bpresion\w*",
    r"\bnervios de punta\b",
    r"\bno doy mas\b|\bapenad[oa]s?\b",
    r"\bvolviendo loc[oa]\b|\bhasta la madre\b|\bbolas llenas\b|\bhasta las narices\b|"
    r"\bhasta el gorro\b|\bhasta la coronilla\b|\bme tienen hart\w*",
    r"\bque poca\b",
    r"\bme pone (?:muy )?(?:nervios\w*|mal|triste)\b",
    r"\b(?:estoy|ando|me tienen|me tiene|estamos) (?:muy |super |re |bien |bastante |todo |tan )?"
    r"(?:complicad[oa]s?|mal|fatal|jodid[oa]s?|fregad[oa]s?|en la lona|hundid[oa]s?)\b",
)

HARDSHIP = _rx(
    r"\b(?:perdi|he perdido|perdio|perdimos|me quede sin|me he quedado sin|quede sin|estoy sin|"
    r"ando sin|sigo sin|estamos sin|quedamos sin|no tengo|no hay|sin|encuentre|consiga|buscando) "
    r"(?:mi |el |su |nuestro |un )?(?:trabajo|empleo|chamba|chambita|laburo|curro|pega|jale|"
    r"camello)\b",
    r"\b(?:me|nos|lo|la) (?:despidieron|despidio|han despedido|ha despedido|corrieron|echaron|"
    r"botaron|liquidaron|votaron)\b",
    r"\bme (?:sacaron|echaron|botaron|corrieron|cortaron) (?:del|de la) (?:trabajo|empresa|chamba|"
    r"pega|laburo|curro)\b",
    r"\bme (?:desvincularon|finiquitaron|despacharon)\b",
    r"\b(?:acaban de|me van a|me quieren) (?:despedir|correr|echar|botar)\b",
    r"\b(?:despido|despedid[oa]|desemplead[oa]|desempleo|cesante|cesantia|en paro|en el paro|"
    r"sin trabajar|no he podido trabajar|no puedo trabajar)\b",
    r"\b(?:cerraron|cerro|quebro) (?:la |el |mi )?(?:fabrica|empresa|negocio|tienda|local|taller|"
    r"restaurante|oficina)\b",
    r"\b(?:me )?(?:bajaron|redujeron|recortaron|rebajaron) (?:el |mi |los |las )?(?:sueldo|salario|"
    r"horas|ingresos|pago|turno|turnos|comisiones)\b",
    r"\b(?:la pega|el trabajo|la chamba|el laburo|el negocio|las ventas|la venta|el curro)"
    r" (?:esta|anda|va|estan|andan) (?:muy |re |super )?(?:mal|mala|malas|malo|flojo|floja|lento|"
    r"lenta|bajas|dificil|parad[oa])\b",
    r"\b(?:enferm[oa]s?|enfermedad|hospital\w*|internad[oa]s?|clinica|cirugia|operaron|operacion|"
    r"accidente|cancer|quimio\w*|incapacidad|incapacitad[oa]|baja medica|licencia medica|covid|"
    r"infarto|dialisis|tumor|fractur\w*|embarazad[oa]|medicinas|medicamentos|en tratamiento|"
    r"discapacidad|urgencias|emergencia|terapia intensiva|uci)\b",
    r"\b(?:fallecio|fallecid[oa]|falleci\w*|murio|se murio|se me murio|muerte|luto|velorio|"
    r"entierro|funeral|sepelio|enviude|viud[oa]|duelo|perdi a mi|en paz descanse)\b",
)
VULNERABILITY = _rx(
    r"\b(?:fallecio|fallecid[oa]|falleci\w*|murio|se murio|se me murio|muerte|luto|velorio|"
    r"entierro|funeral|sepelio|enviude|duelo|perdi a mi|en paz descanse)\b",
    r"\b(?:cancer|hospital\w*|internad[oa]s?|cirugia|operaron|quimio\w*|terapia intensiva|uci|"
    r"tumor|dialisis|infarto|grave|terminal|en tratamiento)\b",
    r"\b(?:depresion|deprimid[oa]|ansiedad|ataques? de panico|psiquiatr\w*|psicolog\w*)\b",
    r"\b(?:me quiero morir|quiero morir\w*|matarme|me voy a matar|suicid\w*|no quiero vivir|"
    r"quitarme la vida|acabar con todo|ya no aguanto|no aguanto mas|ya no puedo mas|"
    r"no le veo sentido)\b",
    r"\b(?:desesperad[oa]|desesperacion|destrozad[oa]|devastad[oa])\b",
)

# --- reject / accept -------------------------------------------------------------------------

REJECT = _rx(
    r"\bno (?:lo |la |los |las )(?:acepto|aceptamos|quiero|queremos|deseo)\b",
    r"\bno (?:puedo|podemos|voy a|vamos a|pienso) aceptar\b",
    r"\bno (?:me |nos )?(?:interesa|interesan|acepto|aceptamos|acepta|quiero|queremos|deseo|"
    r"me convence|convence|me sirve|sirve|me conviene|conviene|me acomoda|acomoda|me cierra|"
    r"me late|me parece|estoy de acuerdo|estamos de acuerdo|gracias)\b",
    r"\bno (?:les |le |te |os )?(?:voy|pienso|vamos|pensamos) a pagar\b",
    r"\bno (?:les |le |te |os )?pienso pagar\b",
    r"\bno (?:les |le |te |os )?(?:pago|pagare|pagaria) (?:nada|ni un peso|un peso|"
    r"ni un centavo)\b",
    r"\b(?:ninguna|ninguno)\b",
    r"\b(?:olvidalo|olvidate|ni lo suenes|no way|no thanks|no thank you|ni ahi|ni loco|ni loca|"
    r"ni de broma|ni de chiste|de ninguna manera|para nada|ni en pedo|ni a palos|ni cagando|"
    r"ni muerto|ni muerta|ni de cona|ni hablar|ni por chiste)\b",
    r"\basi no ?(?:$|[,.!])",
    r"^(?:no|tampoco|jamas|nunca|paso)(?: [,.!])*(?: gracias| muchas gracias)?(?: [,.!])*$",
    r"^(?:no|tampoco|paso) [,.!] ",
)
ACCEPT_STRONG = re.compile(
    r"(?<!no )\b(?:acepto|aceptamos|aceptado|confirmo|confirmado|trato hecho|hagamoslo|"
    r"hagamos eso|deal|me quedo con|elijo|escojo|prefiero la|prefiero el|voy con la|voy por la|"
    r"me apunto|estoy de acuerdo|estamos de acuerdo|de acuerdo con (?:el|la|esa|ese)|"
    r"asi le hacemos|asi quedamos|quedamos asi|cerramos trato)\b"
)
CHOOSE_CUE = re.compile(
    r"\b(?:me quedo|elijo|escojo|prefiero|voy con|voy por|dale|de una|la de|la del|las de|el de|"
    r"opcion|option|me sirve|me acomoda|me conviene|"
    r"acepto|quiero la|quiero el|va|ok|si|listo|sale|vale)\b"
)
# "puedo dar la mitad ahora": a counteroffer without a number.
PARTIAL_OFFER = re.compile(
    r"\b(?:dar|pagar|pagarte|pagarle|abonar|depositar|pasar|adelantar|doy|pago|abono|deposito|"
    r"paso|adelanto|yapeo|transfiero|consigno)(?:te|le|les|os)? (?:la mitad|el 50 ?%|una parte|"
    r"parte|un abono|un adelanto|un anticipo|algo|un poco|lo que pueda|de a poco|poco a poco|"
    r"por partes|en partes)\b"
)
# "capaz", "a lo mejor": a hedged date is a timing objection, not a commitment.
HEDGE = re.compile(
    r"\b(?:capaz|quizas|quiza|tal vez|a lo mejor|a ver si|puede que|no se si|igual y|"
    r"probablemente|ojala|maybe|a ver el)\b"
)
COUNTER_CUE = re.compile(
    r"\b(?:puedo|podria|podemos|podriamos|pueda|pago|pagaria|pagare|pagamos|pagar|pagarlo|"
    r"pagarla|doy|daria|dare|deposito|depositaria|depositare|abono|abonaria|abonare|abonar|"
    r"transfiero|transferiria|consigno|consignaria|consignar|mando|envio|ofrezco|ofreceria|"
    r"propongo|yapeo|yapearte|yapear|liquido|liquidaria|cubro|cancelo|cancelaria|que tal|y si|"
    r"que sean|sean|mejor|se puede|sirve|sirven|dejan|aceptan|aceptarian|podes|puedes|i can|"
    r"can i|te paso|le paso|dar|pasar|paso|quedamos|hago|hare|haria|te hago|le hago|mandare|"
    r"enviare|transferire|i could|i will|i ll|we can|could|pay|caigo|le caigo|te caigo|"
    r"dejan en|lo dejan|dejas en)\b"
)

# Words a pure "yes" reply is made of ("si", "ok", "dale", "de una", "sale", "me parece bien").
YES_PHRASES = (
    "me parece perfecto",
    "me parece bien",
    "me parece",
    "esta bien",
    "de acuerdo",
    "de una",
    "por supuesto",
    "trato hecho",
    "asi le hacemos",
    "asi quedamos",
    "asi es",
    "va que va",
    "sale y vale",
    "me sirve",
    "me late",
    "me acomoda",
    "me conviene",
    "me cuadra",
    "muy bien",
    "por favor",
    "muchas gracias",
    "mil gracias",
    "dale que va",
    "todo bien",
    "si claro",
    "sounds good",
    "suena bien",
    "me sirve",
)
YES_WORDS = frozenset(
    {
        "si",
        "ok",
        "va",
        "dale",
        "sale",
        "listo",
        "lista",
        "vale",
        "claro",
        "bueno",
        "simon",
        "ya",
        "conforme",
        "bacan",
        "joya",
        "chido",
        "genial",
        "excelente",
        "perfecto",
        "perfect",
        "great",
        "deal",
        "venga",
        "hecho",
        "cerrado",
        "adelante",
        "obvio",
        "orale",
        "confirmo",
        "confirmado",
        "acepto",
        "aceptado",
        "hagamoslo",
        "correcto",
        "exacto",
        "bien",
        "super",
        "gracias",
        "senor",
        "senora",
        "senorita",
        "joven",
        "amigo",
        "amiga",
        "jefe",
        "seguro",
        "eso",
        "fine",
        "sure",
        "good",
        "okay",
        "aja",
        "bendiciones",
        "nomas",
        "pues",
        "entonces",
        "igual",
        "hagale",
        "hagamosle",
        "hagamole",
        "one",
    }
)
NO_WORDS = frozenset(
    {
        "no",
        "tampoco",
        "ninguna",
        "ninguno",
        "paso",
        "nada",
        "gracias",
        "muchas",
        "nunca",
        "jamas",
        "esa",
        "ese",
        "senor",
        "senora",
        "senorita",
        "joven",
        "pues",
        "asi",
        "mejor",
        "thanks",
    }
)
SOFT_TOKENS = frozenset({",", ".", "!", "?", "¿", ";", "por", "favor"})

GREETING_OR_THANKS = _rx(
    r"^(?:hola|buenas|buenos|buen dia|buen|hello|hi|hey|que tal|saludos|gracias|muchas gracias|"
    r"ok|enterado|entendido|recibido|de nada|igualmente|amen|dios|bendiciones|jaja\w*|jeje\w*|"
    r"xd|lol|un momento|un segundo|espera|esperame|dejame|deja ver|a ver|mmm*|aja|perdon)\b",
)

# --- what the agent's previous message was doing ---------------------------------------------

AGENT_PROPOSAL = re.compile(
    r"\b(?:opcion|opciones|confirmas|confirma|confirmar|confirme|te parece|le parece|cuotas|cuota|"
    r"plan|propuesta|propongo|ofrecer|ofrezco|ofrecerte|ofrecerle|te sirve|le sirve|te funciona|"
    r"le funciona|te conviene|le conviene|te acomoda|le acomoda|prefieres|prefiere|pago unico|"
    r"descuento|plazos|de acuerdo|quedaria|aceptas|acepta|cual|procedemos|agendamos|registro|"
    r"registramos|te late|vale|pagar|pagarias|pagaria|pagas|abonar|depositar|liquidar|saldar|"
    r"quieres que|quiere que|te envio|le envio|te mando|le mando|procedo|lo dejamos|seguimos|"
    r"puedes|puede|podrias|podria|te queda|le queda|ok|bien)\b"
)
# The agent asked for an explicit yes ("responde SÍ para aceptarlo", "escribe sí").
AGENT_ASKS_YES = re.compile(
    r"\b(?:responde|responda|respondeme|escribe|escriba|contesta|conteste|dime|digame) si\b"
)
AGENT_IDENTITY_DIGITS = re.compile(
    r"\b(?:digitos|documento|identidad|dni|cedula|rut|curp|ine|nie|dui|pasaporte|"
    r"fecha de nacimiento|verificar|verificacion|identificacion|rfc)\b"
)
AGENT_IDENTITY_NAME = re.compile(
    r"\b(?:hablo con|es usted|eres tu|usted es|se encuentra|me comunico con|estoy hablando con|"
    r"hablando con|tengo el gusto con|es el senor|es la senora|es el titular|eres [a-z]+ [a-z]+ \?)"
)
